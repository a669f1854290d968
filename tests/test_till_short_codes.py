"""Typed short codes: failed lookups are limited per till key or user and per shop, in
the database (so every server process counts together); a right code is never counted."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.auth.models import LoginThrottle, Role
from backend.core.db import transaction
from backend.core.types import utcnow
from backend.till.codes import format_short_code, new_short_code
from backend.till.scan import SHORT_CODE_PER_SHOP, SHORT_CODE_PER_TYPIST
from tests.fixtures.auth import create_pos_key
from tests.fixtures.factories import World
from tests.fixtures.ledger import assert_problem
from tests.fixtures.till import API, keyed, staff_token, wallet_qr, writes

TYPIST_LIMIT = SHORT_CODE_PER_TYPIST.max_failures
SHOP_LIMIT = SHORT_CODE_PER_SHOP.max_failures


@pytest.fixture
def settings(app: FastAPI) -> Any:
    return app.state.settings


def unknown_code() -> str:
    # 40 random bits: no live wallet code has it.
    return format_short_code(new_short_code())


async def identify(client: httpx.AsyncClient, headers: dict[str, str], scan: str) -> httpx.Response:
    return await client.post(f"{API}/till/identify", json={"scan": scan}, headers=headers)


async def fail(client: httpx.AsyncClient, headers: dict[str, str], times: int) -> None:
    for _ in range(times):
        assert_problem(await identify(client, headers, unknown_code()), 422, "scan_unreadable")


async def failures(sessionmaker: async_sessionmaker[AsyncSession], tenant_id: int, subject: str) -> int:
    async with sessionmaker() as session:
        count = await session.scalar(
            select(LoginThrottle.failures).where(
                LoginThrottle.tenant_id == tenant_id, LoginThrottle.subject == subject
            )
        )
        await session.rollback()
    return count or 0


def assert_too_many(response: httpx.Response) -> None:
    problem = assert_problem(response, 429, "too_many_attempts")
    wait = int(response.headers["retry-after"])
    assert 0 < wait <= SHORT_CODE_PER_TYPIST.lockout.total_seconds()
    assert problem["retry_after"] == wait


async def test_a_typist_is_stopped_after_too_many_unknown_codes(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], settings: Any
) -> None:
    cashier = world.headers("cashier")
    await fail(client, cashier, TYPIST_LIMIT)
    assert await failures(sessionmaker, world.tenant.id, f"short_code:user:{world.users['cashier'].id}") == TYPIST_LIMIT

    assert_too_many(await identify(client, cashier, unknown_code()))
    # Locked means locked: a right code is refused too, or guessing could go on.
    qr = await wallet_qr(sessionmaker, world, settings)
    assert_too_many(await identify(client, cashier, qr.short_code))
    before = await writes(sessionmaker, world.tenant.id)
    earn = await client.post(
        f"{API}/till/earns", json={"scan": qr.short_code, "purchase_cents": 1000}, headers=keyed(world)
    )
    assert_too_many(earn)
    assert await writes(sessionmaker, world.tenant.id) == before
    # The QR itself still works, and so does the short code typed by somebody else.
    assert (await identify(client, cashier, qr.qr_text)).status_code == 200
    owner = await identify(client, world.headers("owner"), qr.short_code)
    assert owner.status_code == 200 and owner.json()["display"] == "An"

    # When the lock has run out the cashier types again.
    async with transaction(sessionmaker) as session:
        await session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.subject == f"short_code:user:{world.users['cashier'].id}")
            .values(locked_until=utcnow())
        )
    assert (await identify(client, cashier, qr.short_code)).status_code == 200


async def test_right_codes_are_never_counted(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], settings: Any
) -> None:
    cashier = world.headers("cashier")
    qr = await wallet_qr(sessionmaker, world, settings)
    for typed in [qr.short_code, qr.short_code.replace("-", "").lower()] * TYPIST_LIMIT:
        response = await identify(client, cashier, typed)
        assert response.status_code == 200, response.text
    assert await failures(sessionmaker, world.tenant.id, f"short_code:user:{world.users['cashier'].id}") == 0
    assert await failures(sessionmaker, world.tenant.id, f"short_code:merchant:{world.bakery.id}") == 0
    # Nor is an expired code: it was right once, and tells a guesser nothing.
    await fail(client, cashier, TYPIST_LIMIT - 1)
    old = await wallet_qr(sessionmaker, world, settings, now=utcnow().replace(year=2020))
    for _ in range(3):
        assert_problem(await identify(client, cashier, old.short_code), 409, "token_expired")
    response = await client.post(
        f"{API}/till/earns", json={"scan": qr.short_code, "purchase_cents": 2000}, headers=keyed(world)
    )
    assert response.status_code == 201, response.text


async def test_a_failed_earn_is_counted_although_the_request_is_rolled_back(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with transaction(sessionmaker) as session:
        key, raw = await create_pos_key(
            session, tenant_id=world.tenant.id, merchant_id=world.bakery.id, commit=False
        )
    pos = {"X-API-Key": raw}
    before = await writes(sessionmaker, world.tenant.id)
    for _ in range(2):
        response = await client.post(
            f"{API}/till/earns",
            json={"scan": unknown_code(), "purchase_cents": 1000},
            headers={**pos, "Idempotency-Key": f"guess-{new_short_code()}"},
        )
        assert_problem(response, 422, "scan_unreadable")
    assert await writes(sessionmaker, world.tenant.id) == before
    assert await failures(sessionmaker, world.tenant.id, f"short_code:key:{key.id}") == 2
    assert await failures(sessionmaker, world.tenant.id, f"short_code:merchant:{world.bakery.id}") == 2


async def test_many_typists_of_one_shop_add_up(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], settings: Any
) -> None:
    typists = [world.headers("cashier"), world.headers("owner")]
    while len(typists) * (TYPIST_LIMIT - 1) < SHOP_LIMIT:
        typists.append(await staff_token(sessionmaker, client, world, world.bakery, Role.CASHIER))
    left = SHOP_LIMIT
    for headers in typists:
        # Each stays under its own limit; together they reach the shop's.
        tries = min(TYPIST_LIMIT - 1, left)
        await fail(client, headers, tries)
        left -= tries
    assert left == 0
    qr = await wallet_qr(sessionmaker, world, settings)
    newcomer = await staff_token(sessionmaker, client, world, world.bakery, Role.CASHIER)
    assert_too_many(await identify(client, newcomer, qr.short_code))
    # Another shop is not affected.
    other_shop = await staff_token(sessionmaker, client, world, world.shop, Role.CASHIER)
    assert (await identify(client, other_shop, qr.short_code)).status_code == 200
