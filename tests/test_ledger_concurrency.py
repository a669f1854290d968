"""Races on PostgreSQL: many requests at once through the API, on the same points.

Each request runs in its own transaction on its own pooled connection (ASGI client +
``asyncio.gather``), so the conditional shard updates, the idempotency-key insert and
the hold state machine really race. SQLite takes its write lock up front (``BEGIN
IMMEDIATE``) and runs one writer at a time, so there is nothing to race there.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter

import httpx
import pytest
from sqlalchemy import func, select

from backend.core.db import transaction
from backend.ledger import balances as balances_module
from backend.ledger import service as ledger
from backend.ledger.models import AccountBalance, Transfer
from tests.fixtures.factories import World, new_key
from tests.fixtures.ledger import API, assert_problem, check_ledger

pytestmark = pytest.mark.postgres_only


@pytest.fixture(autouse=True)
def _postgres_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite runs one writer at a time (BEGIN IMMEDIATE): these races need PostgreSQL")


async def earn(sessionmaker, world: World, wallet_id: int, amount: int) -> None:  # noqa: ANN001
    async with transaction(sessionmaker) as session:
        await ledger.post_transfer(
            session,
            tenant_id=world.tenant.id,
            idempotency_key=new_key("earn"),
            kind="earn",
            debit_account_id=world.bakery_float.id,
            credit_account_id=wallet_id,
            amount=amount,
        )


async def balance_of(client: httpx.AsyncClient, world: World, account_id: int) -> dict:
    response = await client.get(f"{API}/accounts/{account_id}/balance", headers=world.headers("auditor"))
    assert response.status_code == 200, response.text
    return response.json()


def split(responses: list[httpx.Response], ok: int) -> tuple[list[httpx.Response], list[httpx.Response]]:
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {ok, 409}, statuses  # never a 5xx: deadlocks are retried inside
    won = [r for r in responses if r.status_code == ok]
    lost = [r for r in responses if r.status_code != ok]
    return won, lost


async def test_fifty_concurrent_spends_of_a_wallet_that_covers_ten(client, world, sessionmaker):
    amount = 37
    await earn(sessionmaker, world, world.an_wallet.id, 10 * amount)
    body = {
        "kind": "redeem",
        "debit_account_id": world.an_wallet.id,
        "credit_account_id": world.bakery_redeemed.id,
        "amount": amount,
    }

    async def spend() -> httpx.Response:
        return await client.post(
            f"{API}/transfers", json=body, headers=world.headers(**{"Idempotency-Key": new_key("spend")})
        )

    async def watch() -> list[dict]:
        seen = []
        for _ in range(10):
            seen.append(await balance_of(client, world, world.an_wallet.id))
            await asyncio.sleep(0)
        return seen

    *responses, seen = await asyncio.gather(*(spend() for _ in range(50)), watch())
    won, lost = split(responses, 201)
    assert len(won) == 10 and len(lost) == 40
    for response in lost:
        assert_problem(response, 409, "insufficient_funds")
    assert all(b["balance"] >= 0 and b["available"] >= 0 for b in seen), seen
    assert len({r.json()["id"] for r in won}) == 10
    final = await balance_of(client, world, world.an_wallet.id)
    assert (final["balance"], final["pending"], final["available"]) == (0, 0, 0)
    assert (await balance_of(client, world, world.bakery_redeemed.id))["balance"] == 10 * amount
    await check_ledger(sessionmaker, world.tenant.id)


async def test_fifty_concurrent_holds_on_a_wallet_that_covers_ten(client, world, sessionmaker):
    amount = 23
    await earn(sessionmaker, world, world.bert_wallet.id, 10 * amount)
    body = {
        "debit_account_id": world.bert_wallet.id,
        "credit_account_id": world.shop_redeemed.id,
        "amount": amount,
        "timeout_seconds": 600,
    }

    async def hold() -> httpx.Response:
        return await client.post(f"{API}/holds", json=body, headers=world.headers(**{"Idempotency-Key": new_key()}))

    won, lost = split(await asyncio.gather(*(hold() for _ in range(50))), 201)
    assert len(won) == 10 and len(lost) == 40
    for response in lost:
        assert_problem(response, 409, "insufficient_funds")
    state = await balance_of(client, world, world.bert_wallet.id)
    assert (state["balance"], state["pending"], state["available"]) == (10 * amount, 10 * amount, 0)
    await check_ledger(sessionmaker, world.tenant.id)

    # Capture half, void the other half, all at once: every points moves exactly once.
    holds = [r.json()["id"] for r in won]

    async def capture(hold_id: int) -> httpx.Response:
        return await client.post(
            f"{API}/holds/{hold_id}/capture", json={}, headers=world.headers(**{"Idempotency-Key": new_key()})
        )

    async def void(hold_id: int) -> httpx.Response:
        return await client.post(f"{API}/holds/{hold_id}/void", headers=world.headers())

    results = await asyncio.gather(*(capture(h) for h in holds[:5]), *(void(h) for h in holds[5:]))
    assert [r.status_code for r in results] == [201] * 5 + [200] * 5, [r.text for r in results]
    state = await balance_of(client, world, world.bert_wallet.id)
    assert (state["balance"], state["pending"], state["available"]) == (5 * amount, 0, 5 * amount)
    assert (await balance_of(client, world, world.shop_redeemed.id))["balance"] == 5 * amount
    await check_ledger(sessionmaker, world.tenant.id)


async def test_the_same_key_sent_twenty_times_at_once_makes_one_transfer(client, world, sessionmaker):
    key = new_key("same")
    body = {"kind": "earn", "debit_account_id": world.bakery_float.id, "credit_account_id": world.an_wallet.id, "amount": 77}
    responses = await asyncio.gather(
        *(client.post(f"{API}/transfers", json=body, headers=world.headers(**{"Idempotency-Key": key})) for _ in range(20))
    )
    assert [r.status_code for r in responses] == [201] * 20, [r.text for r in responses if r.status_code != 201]
    assert len({r.content for r in responses}) == 1  # byte-identical bodies
    replayed = [r.headers.get("idempotent-replayed") == "true" for r in responses]
    assert replayed.count(False) == 1  # one request did the work, 19 found it
    assert (await balance_of(client, world, world.an_wallet.id))["balance"] == 77
    async with sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(Transfer).where(Transfer.tenant_id == world.tenant.id, Transfer.idempotency_key == key)
        )
    assert count == 1
    await check_ledger(sessionmaker, world.tenant.id)


async def test_the_same_hold_key_sent_twenty_times_at_once_reserves_once(client, world, sessionmaker):
    await earn(sessionmaker, world, world.an_wallet.id, 500)
    key = new_key("same-hold")
    body = {"debit_account_id": world.an_wallet.id, "credit_account_id": world.bakery_redeemed.id, "amount": 120}
    responses = await asyncio.gather(
        *(client.post(f"{API}/holds", json=body, headers=world.headers(**{"Idempotency-Key": key})) for _ in range(20))
    )
    assert [r.status_code for r in responses] == [201] * 20, [r.text for r in responses if r.status_code != 201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len({r.content for r in responses}) == 1
    state = await balance_of(client, world, world.an_wallet.id)
    assert (state["balance"], state["pending"], state["available"]) == (500, 120, 380)
    await check_ledger(sessionmaker, world.tenant.id)


async def spread_float(sessionmaker, world: World, account_id: int, per_shard: int) -> None:  # noqa: ANN001
    """Top the float up with ``per_shard`` points in every one of its shards."""
    slots = itertools.count()
    original = balances_module.pick_slot

    def round_robin(meta):  # noqa: ANN001, ANN202
        return next(slots) % meta.shard_count if meta.id == account_id else original(meta)

    balances_module.pick_slot = round_robin
    try:
        async with transaction(sessionmaker) as session:
            for _ in range(16):
                await ledger.post_transfer(
                    session,
                    tenant_id=world.tenant.id,
                    idempotency_key=new_key("spread"),
                    kind="topup",
                    debit_account_id=world.funding.id,
                    credit_account_id=account_id,
                    amount=per_shard,
                )
    finally:
        balances_module.pick_slot = original


async def shards_of(sessionmaker, account_id: int) -> list[tuple[int, int, int]]:  # noqa: ANN001
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                select(AccountBalance.balance, AccountBalance.pending, AccountBalance.floor)
                .where(AccountBalance.account_id == account_id)
                .order_by(AccountBalance.slot)
            )
        ).all()
    return [tuple(row) for row in rows]


async def test_concurrent_debits_of_a_sharded_float_rebalance_without_deadlocks(client, world, sessionmaker):
    n, amount, per_shard = 12, 100, 75  # 16 x 75 = 1200 = 12 x 100, but no shard holds 100
    account_id = world.shop_float.id
    assert world.shop_float.shard_count == 16
    await spread_float(sessionmaker, world, account_id, per_shard)
    assert await shards_of(sessionmaker, account_id) == [(per_shard, 0, 0)] * 16

    wallets = itertools.cycle([world.an_wallet.id, world.bert_wallet.id])

    async def debit(wallet_id: int) -> httpx.Response:
        body = {"kind": "earn", "debit_account_id": account_id, "credit_account_id": wallet_id, "amount": amount}
        return await client.post(f"{API}/transfers", json=body, headers=world.headers(**{"Idempotency-Key": new_key()}))

    won, lost = split(await asyncio.gather(*(debit(next(wallets)) for _ in range(n + 18))), 201)
    assert len(won) == n, [r.text for r in lost]
    for response in lost:
        assert_problem(response, 409, "insufficient_funds")
    state = await balance_of(client, world, account_id)
    assert (state["balance"], state["available"], state["floor"]) == (0, 0, 0)
    assert all(balance - pending >= floor for balance, pending, floor in await shards_of(sessionmaker, account_id))
    await check_ledger(sessionmaker, world.tenant.id)


async def test_a_float_with_a_credit_limit_goes_down_to_minus_the_limit_and_no_further(client, world, sessionmaker):
    amount, limit = 50, 500
    account_id = world.shop_float.id
    response = await client.put(
        f"{API}/accounts/{account_id}/credit-limit", json={"credit_limit": limit}, headers=world.headers()
    )
    assert response.status_code == 200, response.text
    assert response.json()["balance"]["floor"] == -limit

    async def debit(wallet_id: int) -> httpx.Response:
        body = {"kind": "earn", "debit_account_id": account_id, "credit_account_id": wallet_id, "amount": amount}
        return await client.post(f"{API}/transfers", json=body, headers=world.headers(**{"Idempotency-Key": new_key()}))

    wallets = itertools.cycle([world.an_wallet.id, world.bert_wallet.id])
    won, lost = split(await asyncio.gather(*(debit(next(wallets)) for _ in range(30))), 201)
    assert len(won) == limit // amount
    for response in lost:
        assert_problem(response, 409, "insufficient_funds")
    state = await balance_of(client, world, account_id)
    assert (state["balance"], state["available"], state["floor"]) == (-limit, -limit, -limit)
    assert_problem(await debit(world.an_wallet.id), 409, "insufficient_funds")
    # Lowering the limit below what the float already owes is refused.
    response = await client.put(
        f"{API}/accounts/{account_id}/credit-limit", json={"credit_limit": limit - 1}, headers=world.headers()
    )
    assert_problem(response, 409, "credit_limit_below_balance")
    await check_ledger(sessionmaker, world.tenant.id)


async def test_concurrent_reversals_of_one_transfer_reverse_it_once(client, world, sessionmaker):
    body = {"kind": "earn", "debit_account_id": world.bakery_float.id, "credit_account_id": world.an_wallet.id, "amount": 90}
    posted = await client.post(f"{API}/transfers", json=body, headers=world.headers(**{"Idempotency-Key": new_key()}))
    assert posted.status_code == 201, posted.text
    transfer_id = posted.json()["id"]

    async def reverse(amount: int | None) -> httpx.Response:
        return await client.post(
            f"{API}/transfers/{transfer_id}/reversals",
            json={} if amount is None else {"amount": amount},
            headers=world.headers(**{"Idempotency-Key": new_key("rev")}),
        )

    won, lost = split(await asyncio.gather(*(reverse(None if i % 2 else 30) for i in range(12))), 201)
    assert len(won) == 1, [r.text for r in won]
    for response in lost:
        assert_problem(response, 409, "already_reversed")
    reversed_amount = won[0].json()["amount"]
    assert (await balance_of(client, world, world.an_wallet.id))["balance"] == 90 - reversed_amount
    await check_ledger(sessionmaker, world.tenant.id)


async def test_concurrent_captures_and_voids_of_one_hold_resolve_it_once(client, world, sessionmaker):
    await earn(sessionmaker, world, world.an_wallet.id, 200)
    created = await client.post(
        f"{API}/holds",
        json={"debit_account_id": world.an_wallet.id, "credit_account_id": world.bakery_redeemed.id, "amount": 150},
        headers=world.headers(**{"Idempotency-Key": new_key()}),
    )
    assert created.status_code == 201, created.text
    hold_id = created.json()["id"]

    async def capture() -> httpx.Response:
        return await client.post(
            f"{API}/holds/{hold_id}/capture", json={"amount": 100}, headers=world.headers(**{"Idempotency-Key": new_key()})
        )

    async def void() -> httpx.Response:
        return await client.post(f"{API}/holds/{hold_id}/void", headers=world.headers())

    results = await asyncio.gather(*(capture() if i % 2 else void() for i in range(16)))
    captures, voids = results[1::2], results[0::2]
    assert all(r.status_code in (200, 201, 409) for r in results), [r.text for r in results]
    captured = [r for r in captures if r.status_code == 201]
    if captured:  # the capture won: one transfer, every void refused
        assert len(captured) == 1
        assert all(r.status_code == 409 for r in voids)
        expected_wallet = 100
    else:  # a void won: every void reports the voided hold, every capture is refused
        assert all(r.status_code == 200 and r.json()["status"] == "voided" for r in voids)
        expected_wallet = 200
    for response in results:
        if response.status_code == 409:
            assert_problem(response, 409, "hold_already_resolved")
    state = await balance_of(client, world, world.an_wallet.id)
    assert (state["balance"], state["pending"]) == (expected_wallet, 0)
    await check_ledger(sessionmaker, world.tenant.id)
