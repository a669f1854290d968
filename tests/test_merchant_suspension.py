"""A shop that is not active: authentication refuses its POS keys and staff (with one
read-only exception for its owner), and the check costs the earn path no extra query."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.db import transaction
from tests.fixtures.auth import PASSWORD, create_pos_key
from tests.fixtures.factories import World, new_key
from tests.fixtures.ledger import assert_problem
from tests.fixtures.till import API, keyed, set_merchant_status, wallet_qr, writes
from tests.test_settlement_access import closed_month


@pytest.fixture
def settings(app: FastAPI) -> Any:
    return app.state.settings


async def _pos_key(sessionmaker: async_sessionmaker[AsyncSession], world: World) -> dict[str, str]:
    async with transaction(sessionmaker) as session:
        _, raw = await create_pos_key(
            session, tenant_id=world.tenant.id, merchant_id=world.bakery.id, commit=False
        )
    return {"X-API-Key": raw}


async def _earn(client: httpx.AsyncClient, headers: dict[str, str], scan: str) -> httpx.Response:
    return await client.post(
        f"{API}/till/earns",
        json={"scan": scan, "purchase_cents": 1000},
        headers={**headers, "Idempotency-Key": new_key("earn")},
    )


async def _login(client: httpx.AsyncClient, world: World, who: str) -> httpx.Response:
    return await client.post(
        f"{API}/auth/login",
        json={"tenant": world.tenant.slug, "email": world.users[who].email, "password": PASSWORD},
    )


@pytest.mark.parametrize("status", ["suspended", "rejected", "pending"])
async def test_a_pos_key_of_a_shop_that_is_not_active_is_refused_on_earn_and_on_reads(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], settings: Any, status: str
) -> None:
    key = await _pos_key(sessionmaker, world)
    qr = await wallet_qr(sessionmaker, world, settings)
    assert (await _earn(client, key, qr.qr_text)).status_code == 201
    await set_merchant_status(sessionmaker, world.bakery.id, status)
    before = await writes(sessionmaker, world.tenant.id)

    problem = assert_problem(await _earn(client, key, qr.qr_text), 403, "merchant_suspended")
    assert problem["merchant_status"] == status
    for path in ("/till/today", "/auth/me", "/tenant"):
        assert_problem(await client.get(f"{API}{path}", headers=key), 403, "merchant_suspended")
    # The key also arrives as a bearer credential; same answer.
    bearer = {"Authorization": f"Bearer {key['X-API-Key']}"}
    assert_problem(await client.get(f"{API}/till/today", headers=bearer), 403, "merchant_suspended")
    assert await writes(sessionmaker, world.tenant.id) == before

    await set_merchant_status(sessionmaker, world.bakery.id, "active")
    assert (await client.get(f"{API}/till/today", headers=key)).status_code == 200
    assert (await _earn(client, key, qr.qr_text)).status_code == 201


async def test_tokens_issued_before_the_suspension_stop_working_at_once(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], settings: Any
) -> None:
    qr = await wallet_qr(sessionmaker, world, settings)
    earned = await _earn(client, world.headers("cashier"), qr.qr_text)
    assert earned.status_code == 201
    suspended = await client.post(
        f"{API}/merchants/{world.bakery.id}/suspend", json={"reason": "Onderzoek"}, headers=world.headers("admin")
    )
    assert suspended.status_code == 200, suspended.text
    before = await writes(sessionmaker, world.tenant.id)

    transfer_id = earned.json()["transfer_id"]
    for who in ("cashier", "owner"):
        headers = world.headers(who)
        assert_problem(await _earn(client, headers, qr.qr_text), 403, "merchant_suspended")
        # Clean-up moves points too: refused like any other till action.
        undo = await client.post(
            f"{API}/till/earns/{transfer_id}/undo", json={}, headers={**headers, "Idempotency-Key": new_key("undo")}
        )
        assert_problem(undo, 403, "merchant_suspended")
        for path in ("/till/today", "/auth/me", "/tenant"):
            assert_problem(await client.get(f"{API}{path}", headers=headers), 403, "merchant_suspended")
    assert_problem(await client.get(f"{API}/till/float", headers=world.headers("owner")), 403, "merchant_suspended")
    assert_problem(await client.get(f"{API}/users", headers=world.headers("owner")), 403, "merchant_suspended")
    assert_problem(
        await client.get(f"{API}/merchants/{world.bakery.id}/pos-keys", headers=world.headers("owner")),
        403,
        "merchant_suspended",
    )
    assert await writes(sessionmaker, world.tenant.id) == before

    # Nobody else is affected: the municipality and a shopper carry on.
    assert (await client.get(f"{API}/auth/me", headers=world.headers("admin"))).status_code == 200
    assert (await client.get(f"{API}/me/wallet", headers=world.headers("shopper"))).status_code == 200


async def test_a_suspended_shops_owner_still_reads_its_statements_its_cashier_cannot_sign_in(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    closed = await closed_month(client, sessionmaker, world)
    period_id = closed["period"]["id"]
    statement_id = next(s["id"] for s in closed["statements"] if s["merchant_id"] == world.bakery.id)
    cashier_session = (await _login(client, world, "cashier")).json()
    await set_merchant_status(sessionmaker, world.bakery.id, "suspended")

    owner = await _login(client, world, "owner")
    assert owner.status_code == 200, owner.text
    headers = {"Authorization": f"Bearer {owner.json()['access_token']}"}
    periods = await client.get(f"{API}/settlement/periods", headers=headers)
    assert periods.status_code == 200 and period_id in {p["id"] for p in periods.json()}
    listed = await client.get(f"{API}/settlement/periods/{period_id}/statements", headers=headers)
    assert [s["id"] for s in listed.json()] == [statement_id]
    for suffix in ("", ".pdf", ".csv"):
        response = await client.get(f"{API}/settlement/statements/{statement_id}{suffix}", headers=headers)
        assert response.status_code == 200, (suffix, response.text)
    # Only the statements: the rest of the owner's API is closed.
    assert_problem(await client.get(f"{API}/till/today", headers=headers), 403, "merchant_suspended")
    # Its session can be kept alive to read them.
    refreshed = await client.post(f"{API}/auth/refresh", json={"refresh_token": owner.json()["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text

    # The cashier may not read statements in any case, and is refused at sign-in and refresh.
    assert_problem(
        await client.get(f"{API}/settlement/periods", headers=world.headers("cashier")), 403, "merchant_suspended"
    )
    assert_problem(await _login(client, world, "cashier"), 403, "merchant_suspended")
    refresh = {"refresh_token": cashier_session["refresh_token"]}
    assert_problem(await client.post(f"{API}/auth/refresh", json=refresh), 403, "merchant_suspended")
    # The refused refresh did not spend the token: after reactivation the session goes on.
    await set_merchant_status(sessionmaker, world.bakery.id, "active")
    assert (await client.post(f"{API}/auth/refresh", json=refresh)).status_code == 200
    assert (await _login(client, world, "cashier")).status_code == 200


@contextmanager
def merchant_reads(app: FastAPI) -> Iterator[list[str]]:
    """Every statement that reads the merchant table while the block runs."""
    seen: list[str] = []
    pattern = re.compile(r"\bFROM merchant\b|\bJOIN merchant\b", re.IGNORECASE)

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if pattern.search(statement):
            seen.append(statement)

    engines = {app.state.engine.sync_engine, app.state.read_engine.sync_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", listen)


async def test_an_earn_reads_its_shop_once_whoever_signs_it(
    app: FastAPI, client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], settings: Any
) -> None:
    """The status check shares the till's own lookup of the shop: by token the till's
    ``session.get`` finds the row the check loaded, by POS key it comes with the key."""
    key = await _pos_key(sessionmaker, world)
    for headers in (keyed(world), keyed(world, "owner"), key):
        qr = await wallet_qr(sessionmaker, world, settings)
        with merchant_reads(app) as seen:
            response = await _earn(client, headers, qr.qr_text)
        assert response.status_code == 201, response.text
        assert len(seen) == 1, seen
