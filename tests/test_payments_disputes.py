"""Stripe disputes on float top-ups: taken back when opened or lost, given back once when won."""
# ruff: noqa: F811  (pytest fixtures imported from tests/fixtures/payments.py are parameters here)

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.db import transaction
from backend.ledger import service as ledger
from backend.payments.models import FloatDebt, TopUp
from tests.fixtures.factories import World, new_key
from tests.fixtures.ledger import check_ledger
from tests.fixtures.payments import (  # noqa: F401  (fixtures)
    API,
    LocalstripeGateway,
    deliver,
    float_balance,
    localstripe_url,
    paid_topup,
    stripe_gateway,
    topup_row,
    topup_transfers,
)

MOVES = ("topup", "float_clawback", "reversal")


async def credited_topup(
    client: httpx.AsyncClient, world: World, gateway: LocalstripeGateway, amount: int, merchant_id: int | None = None
) -> tuple[dict, str]:
    body, session_id = await paid_topup(client, world, gateway, amount, merchant_id=merchant_id)
    assert (await deliver(client, gateway.checkout_completed(session_id))).json()["outcome"] == "processed"
    return body, session_id


async def moves_of(sessionmaker: async_sessionmaker[AsyncSession], world: World, topup_id: int) -> list[tuple[str, int]]:
    return [
        (t.kind, t.amount)
        for t in await topup_transfers(sessionmaker, world, MOVES)
        if t.meta.get("topup_id") == topup_id
    ]


async def reconciled(client: httpx.AsyncClient, world: World) -> tuple[bool, dict[int, dict[str, Any]]]:
    report = await client.get(f"{API}/payments/reconciliation", headers=world.headers("auditor"))
    assert report.status_code == 200, report.text
    body = report.json()
    return body["ok"], {p["topup_id"]: p for p in body["payments"]}


async def outcome(client: httpx.AsyncClient, payload: bytes) -> str:
    response = await deliver(client, payload)
    assert response.status_code == 200, response.text
    return response.json()["outcome"]


async def test_a_won_dispute_gives_the_points_back_once_whatever_arrives_twice(
    client: httpx.AsyncClient, world: World, stripe_gateway: LocalstripeGateway,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    before = await float_balance(sessionmaker, world, world.bakery_float.id)
    body, session_id = await credited_topup(client, world, stripe_gateway, 2000)
    dp = "dp_won_after_opened"
    assert await outcome(client, stripe_gateway.dispute(session_id, 2000, dispute_id=dp)) == "processed"
    assert await float_balance(sessionmaker, world, world.bakery_float.id) == before
    assert (await topup_row(sessionmaker, body["id"])).status == "refunded"

    won = stripe_gateway.dispute(session_id, 2000, event_type="charge.dispute.closed", status="won", dispute_id=dp)
    assert await outcome(client, won) == "processed"
    assert await float_balance(sessionmaker, world, world.bakery_float.id) == before + 2000
    # Stripe's other word for the same win, a redelivery, and a storm of one new event.
    reinstated = stripe_gateway.dispute(
        session_id, 2000, event_type="charge.dispute.funds_reinstated", status="won", dispute_id=dp
    )
    assert await outcome(client, reinstated) == "processed"
    assert await outcome(client, won) == "duplicate"
    updated = stripe_gateway.dispute(session_id, 2000, event_type="charge.dispute.updated", status="won", dispute_id=dp)
    storm = await asyncio.gather(*(deliver(client, updated) for _ in range(6)))
    assert sorted(r.json()["outcome"] for r in storm) == ["duplicate"] * 5 + ["processed"]

    assert await float_balance(sessionmaker, world, world.bakery_float.id) == before + 2000
    row = await topup_row(sessionmaker, body["id"])
    assert (row.status, row.disputed_cents, row.reinstated_cents) == ("paid", 2000, 2000)
    assert (row.clawed_back_points, row.debt_points, row.reinstated_points, row.debt_cancelled_points) == (2000, 0, 2000, 0)
    assert await moves_of(sessionmaker, world, body["id"]) == [("topup", 2000), ("float_clawback", 2000), ("reversal", 2000)]
    transfers = await topup_transfers(sessionmaker, world, MOVES)
    clawback = next(t for t in transfers if t.kind == "float_clawback")
    reversal = next(t for t in transfers if t.kind == "reversal")
    assert reversal.reverses_transfer_id == clawback.id and reversal.meta["reversed_kind"] == "float_clawback"
    listed = (await client.get(f"{API}/merchants/{world.bakery.id}/topups", headers=world.headers("owner"))).json()
    assert listed["items"][0]["reinstated_cents"] == 2000 and listed["items"][0]["reinstated_points"] == 2000

    ok, payments = await reconciled(client, world)
    assert ok is True
    seen = payments[body["id"]]
    assert (seen["disputed_cents"], seen["reinstated_cents"], seen["clawed_back_points"], seen["reinstated_points"],
            seen["debt_cancelled_points"], seen["net_taken_back_points"], seen["flags"]) == (2000, 2000, 2000, 2000, 0, 0, [])
    await check_ledger(sessionmaker, world.tenant.id)


async def test_a_dispute_won_before_it_was_opened_takes_nothing(
    client: httpx.AsyncClient, world: World, stripe_gateway: LocalstripeGateway,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    before = await float_balance(sessionmaker, world, world.bakery_float.id)
    body, session_id = await credited_topup(client, world, stripe_gateway, 1500)
    dp = "dp_won_first"
    for event_type, status in (
        ("charge.dispute.funds_reinstated", "won"),
        ("charge.dispute.closed", "won"),
        ("charge.dispute.created", "needs_response"),
        ("charge.dispute.funds_withdrawn", "needs_response"),
    ):
        payload = stripe_gateway.dispute(session_id, 1500, event_type=event_type, status=status, dispute_id=dp)
        assert await outcome(client, payload) == "processed"
        assert await float_balance(sessionmaker, world, world.bakery_float.id) == before + 1500
    assert await moves_of(sessionmaker, world, body["id"]) == [("topup", 1500)]
    row = await topup_row(sessionmaker, body["id"])
    assert (row.status, row.disputed_cents, row.reinstated_cents, row.clawed_back_points) == ("paid", 1500, 1500, 0)
    ok, payments = await reconciled(client, world)
    assert ok is True and payments[body["id"]]["net_taken_back_points"] == 0
    await check_ledger(sessionmaker, world.tenant.id)


async def test_dispute_events_before_the_payment_is_known_end_with_the_float_whole(
    client: httpx.AsyncClient, world: World, stripe_gateway: LocalstripeGateway,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    before = await float_balance(sessionmaker, world, world.bakery_float.id)
    body, session_id = await paid_topup(client, world, stripe_gateway, 1200)
    dp = "dp_parked"
    opened = stripe_gateway.dispute(session_id, 1200, dispute_id=dp)
    won = stripe_gateway.dispute(session_id, 1200, event_type="charge.dispute.closed", status="won", dispute_id=dp)
    # Both name only a PaymentIntent nobody linked yet: parked, then replayed in order.
    assert [await outcome(client, opened), await outcome(client, won)] == ["parked", "parked"]
    assert await outcome(client, stripe_gateway.checkout_completed(session_id)) == "processed"
    assert await float_balance(sessionmaker, world, world.bakery_float.id) == before + 1200
    assert await moves_of(sessionmaker, world, body["id"]) == [("topup", 1200), ("float_clawback", 1200), ("reversal", 1200)]
    assert [await outcome(client, opened), await outcome(client, won)] == ["duplicate", "duplicate"]
    assert await float_balance(sessionmaker, world, world.bakery_float.id) == before + 1200
    ok, _ = await reconciled(client, world)
    assert ok is True
    await check_ledger(sessionmaker, world.tenant.id)


async def test_a_won_dispute_cancels_open_debt_and_returns_what_the_next_topup_repaid(
    client: httpx.AsyncClient, world: World, stripe_gateway: LocalstripeGateway,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    shop = world.shop.id  # starts with an empty float
    first, first_session = await credited_topup(client, world, stripe_gateway, 1000, merchant_id=shop)
    async with transaction(sessionmaker) as session:
        await ledger.post_transfer(
            session, tenant_id=world.tenant.id, idempotency_key=new_key("earn"), kind="earn",
            debit_account_id=world.shop_float.id, credit_account_id=world.an_wallet.id, amount=800,
            meta={"merchant_id": shop},
        )
    dp = "dp_with_debt"
    assert await outcome(client, stripe_gateway.dispute(first_session, 1000, dispute_id=dp)) == "processed"
    assert await float_balance(sessionmaker, world, world.shop_float.id) == 0
    row = await topup_row(sessionmaker, first["id"])
    assert (row.clawed_back_points, row.debt_points) == (200, 800)

    # The next top-up repays 500 of the 800 owed.
    second, _ = await credited_topup(client, world, stripe_gateway, 500, merchant_id=shop)
    assert await float_balance(sessionmaker, world, world.shop_float.id) == 0
    seen = (await client.get(f"{API}/merchants/{shop}/float", headers=world.headers("admin"))).json()
    assert seen["debt_points"] == 300

    won = stripe_gateway.dispute(first_session, 1000, event_type="charge.dispute.closed", status="won", dispute_id=dp)
    assert await outcome(client, won) == "processed"
    # 300 never collected: cancelled. 500 repaid and 200 clawed back: reversed into the float.
    assert await float_balance(sessionmaker, world, world.shop_float.id) == 700
    row = await topup_row(sessionmaker, first["id"])
    assert (row.status, row.clawed_back_points, row.debt_points, row.reinstated_points, row.debt_cancelled_points) == (
        "paid", 200, 800, 700, 300,
    )
    async with sessionmaker() as session:
        debt = (await session.execute(select(FloatDebt).where(FloatDebt.topup_id == first["id"]))).scalar_one()
    assert (debt.points, debt.collected_points, debt.cancelled_points) == (800, 500, 300) and debt.settled_at is not None
    assert await moves_of(sessionmaker, world, first["id"]) == [
        ("topup", 1000), ("float_clawback", 200), ("float_clawback", 500), ("reversal", 500), ("reversal", 200),
    ]
    seen = (await client.get(f"{API}/merchants/{shop}/float", headers=world.headers("admin"))).json()
    assert seen["debt_points"] == 0 and seen["balance"] == 700

    # Nothing is owed any more: a later top-up is credited whole.
    assert await outcome(client, won) == "duplicate"
    await credited_topup(client, world, stripe_gateway, 100, merchant_id=shop)
    assert await float_balance(sessionmaker, world, world.shop_float.id) == 800
    ok, payments = await reconciled(client, world)
    assert ok is True, payments
    assert (payments[first["id"]]["reinstated_points"], payments[first["id"]]["debt_cancelled_points"],
            payments[first["id"]]["net_taken_back_points"]) == (700, 300, 0)
    assert payments[second["id"]]["flags"] == []
    await check_ledger(sessionmaker, world.tenant.id)


async def test_a_lost_dispute_keeps_what_it_took_and_a_won_one_after_a_refund_returns_only_the_dispute(
    client: httpx.AsyncClient, world: World, stripe_gateway: LocalstripeGateway,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    before = await float_balance(sessionmaker, world, world.bakery_float.id)
    lost, lost_session = await credited_topup(client, world, stripe_gateway, 1000)
    await stripe_gateway.refund(lost_session, 300)
    assert await outcome(client, await stripe_gateway.charge_refunded(lost_session)) == "processed"
    dp = "dp_lost"
    assert await outcome(client, stripe_gateway.dispute(lost_session, 1000, dispute_id=dp)) == "processed"
    assert await float_balance(sessionmaker, world, world.bakery_float.id) == before
    # Lost after a partial refund: Stripe reinstates the refunded part, the status stays lost.
    for event_type, amount in (("charge.dispute.closed", 1000), ("charge.dispute.funds_reinstated", 1000)):
        payload = stripe_gateway.dispute(lost_session, amount, event_type=event_type, status="lost", dispute_id=dp)
        assert await outcome(client, payload) == "processed"
    assert await float_balance(sessionmaker, world, world.bakery_float.id) == before
    assert await moves_of(sessionmaker, world, lost["id"]) == [("topup", 1000), ("float_clawback", 300), ("float_clawback", 700)]

    won, won_session = await credited_topup(client, world, stripe_gateway, 1000)
    await stripe_gateway.refund(won_session, 300)
    assert await outcome(client, await stripe_gateway.charge_refunded(won_session)) == "processed"
    dp = "dp_won_after_refund"
    assert await outcome(client, stripe_gateway.dispute(won_session, 700, dispute_id=dp)) == "processed"
    assert await float_balance(sessionmaker, world, world.bakery_float.id) == before
    closed = stripe_gateway.dispute(won_session, 700, event_type="charge.dispute.closed", status="won", dispute_id=dp)
    assert await outcome(client, closed) == "processed"
    # The refund stays refunded; the 700 disputed come back (the newest clawback reversed).
    assert await float_balance(sessionmaker, world, world.bakery_float.id) == before + 700
    assert await moves_of(sessionmaker, world, won["id"]) == [
        ("topup", 1000), ("float_clawback", 300), ("float_clawback", 700), ("reversal", 700),
    ]
    assert (await topup_row(sessionmaker, won["id"])).status == "paid"
    ok, payments = await reconciled(client, world)
    assert ok is True
    assert payments[lost["id"]]["net_taken_back_points"] == 1000 and payments[won["id"]]["net_taken_back_points"] == 300
    await check_ledger(sessionmaker, world.tenant.id)


async def test_reconciliation_flags_a_won_dispute_the_ledger_did_not_give_back(
    client: httpx.AsyncClient, world: World, stripe_gateway: LocalstripeGateway,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    body, session_id = await credited_topup(client, world, stripe_gateway, 900)
    assert await outcome(client, stripe_gateway.dispute(session_id, 900)) == "processed"
    # Simulate a bug that recorded the win but never reached the ledger.
    async with transaction(sessionmaker) as session:
        await session.execute(update(TopUp).where(TopUp.id == body["id"]).values(reinstated_cents=900))
    ok, payments = await reconciled(client, world)
    assert ok is False
    assert payments[body["id"]]["flags"] == ["dispute_won_not_given_back"]
    assert payments[body["id"]]["net_taken_back_points"] == 900
