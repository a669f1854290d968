"""Races at the till on PostgreSQL: the daily cap, single-use tokens and claim codes.

Each request runs on its own pooled connection, so the locks really race. SQLite runs
one writer at a time (BEGIN IMMEDIATE): nothing to race there.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from backend.auth.models import Role
from tests.fixtures.auth import create_user
from tests.fixtures.factories import auth, login, new_key
from tests.fixtures.ledger import assert_problem, check_ledger
from tests.fixtures.till import API, keyed, set_rules, wallet_balance, wallet_qr, writes

pytestmark = pytest.mark.postgres_only


@pytest.fixture(autouse=True)
def _postgres_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip(
            "SQLite runs one writer at a time (BEGIN IMMEDIATE): these races need PostgreSQL"
        )


async def test_concurrent_earns_never_pass_the_daily_cap_together(client, world, sessionmaker, app):
    await set_rules(sessionmaker, world.tenant.id, daily_cap_points=50)
    qr = await wallet_qr(sessionmaker, world, app.state.settings)

    async def earn() -> object:
        return await client.post(
            f"{API}/till/earns",
            json={"scan": qr.qr_text, "purchase_cents": 4000},
            headers=keyed(world),
        )

    for _ in range(3):  # a pair, then more pairs once the cap is hit
        responses = await asyncio.gather(earn(), earn())
        assert {r.status_code for r in responses} <= {201, 409}
    assert (await wallet_balance(sessionmaker, world, world.an_wallet.id)).balance == 50
    await set_rules(sessionmaker, world.tenant.id, daily_cap_points=500)
    responses = await asyncio.gather(*(earn() for _ in range(20)))
    assert Counter(r.status_code for r in responses) <= Counter({201: 20, 409: 20})
    assert (await wallet_balance(sessionmaker, world, world.an_wallet.id)).balance == 500
    await check_ledger(sessionmaker, world.tenant.id)


async def test_one_phone_token_at_ten_tills_at_once_pays_once(client, world, sessionmaker, app):
    qr = await wallet_qr(sessionmaker, world, app.state.settings)
    await client.post(
        f"{API}/till/earns",
        json={"scan": qr.qr_text, "purchase_cents": 100_000},
        headers=keyed(world),
    )

    async def spend(key: str) -> object:
        return await client.post(
            f"{API}/till/redemptions",
            json={"scan": qr.qr_text, "points": 10},
            headers=keyed(world, key=key),
        )

    responses = await asyncio.gather(*(spend(new_key()) for _ in range(10)))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == Counter({201: 1, 409: 9}), statuses
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409, "token_used")
    # The same key ten times at once: one hold, ten identical answers.
    fresh = await wallet_qr(sessionmaker, world, app.state.settings)
    body = {"scan": fresh.qr_text, "points": 5}
    same = await asyncio.gather(
        *(
            client.post(
                f"{API}/till/redemptions", json=body, headers=keyed(world, key="same-spend-key")
            )
            for _ in range(10)
        )
    )
    assert {r.status_code for r in same} == {201} and len({r.json()["hold_id"] for r in same}) == 1
    balance = await wallet_balance(sessionmaker, world, world.an_wallet.id)
    assert (balance.balance, balance.pending) == (1000, 15)


async def test_two_shoppers_scanning_one_claim_code_at_once_one_wins(client, world, sessionmaker):
    code = (
        await client.post(f"{API}/till/claims", json={"purchase_cents": 3000}, headers=keyed(world))
    ).json()
    headers = [world.headers("shopper")]
    async with sessionmaker() as session:
        for _ in range(5):
            user = await create_user(session, tenant_id=world.tenant.id, role=Role.SHOPPER)
            headers.append(auth(await login(client, tenant=world.tenant, user=user)))
    before = await writes(sessionmaker, world.tenant.id)
    responses = await asyncio.gather(
        *(
            client.post(
                f"{API}/me/claims",
                json={"qr_text": code["qr_text"]},
                headers={**h, "Idempotency-Key": new_key()},
            )
            for h in headers
        )
    )
    assert Counter(r.status_code for r in responses) == Counter({201: 1, 409: 5})
    after = await writes(sessionmaker, world.tenant.id)
    assert (
        after.transfers == before.transfers + 1
        and after.claims_claimed == before.claims_claimed + 1
    )
    await check_ledger(sessionmaker, world.tenant.id)
