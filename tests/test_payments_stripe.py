"""Float top-ups through Stripe (localstripe): pay, decline, duplicates, order, refunds, debt."""
# ruff: noqa: F811  (pytest fixtures imported from tests/fixtures/payments.py are parameters here)

from __future__ import annotations

import asyncio

import httpx
import pytest
import stripe
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.db import transaction
from backend.ledger import service as ledger
from backend.payments.models import FloatDebt, StripeEvent, TopUp
from tests.fixtures.factories import World, new_key
from tests.fixtures.ledger import assert_problem, check_ledger
from tests.fixtures.payments import (  # noqa: F401  (fixtures)
    API,
    LocalstripeGateway,
    deliver,
    float_balance,
    localstripe_url,
    paid_topup,
    start_topup,
    stripe_gateway,
    topup_row,
    topup_transfers,
)


async def test_successful_topup_credits_the_float_once_stripe_reports_it(
    client: httpx.AsyncClient, world: World, stripe_gateway: LocalstripeGateway,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    before = await float_balance(sessionmaker, world, world.bakery_float.id)
    response = await start_topup(client, world, 2500)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "open" and body["points"] == 2500 and body["amount_cents"] == 2500
    assert body["checkout_url"].startswith("https://checkout.stripe.com/")
    params = stripe_gateway.sessions[body["checkout_session_id"]].params
    assert params["mode"] == "payment"
    assert params["payment_method_types"] == ["card", "bancontact"]
    assert params["line_items"][0]["price_data"]["currency"] == "eur"
    assert params["metadata"] == {
        "tenant_id": str(world.tenant.id), "merchant_id": str(world.bakery.id), "topup_id": str(body["id"]),
    }
    assert "/merchant/" in params["success_url"] and "/merchant/" in params["cancel_url"]

    # Nothing is credited for a Checkout page alone, nor for the payment before Stripe says so.
    await stripe_gateway.pay(body["checkout_session_id"])
    assert await float_balance(sessionmaker, world, world.bakery_float.id) == before

    succeeded = await stripe_gateway.recorded_events(body["checkout_session_id"], "payment_intent.succeeded")
    assert len(succeeded) == 1
    answer = await deliver(client, succeeded[0])
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "processed"
    answer = await deliver(client, stripe_gateway.checkout_completed(body["checkout_session_id"]))
    assert answer.json()["outcome"] == "processed"

    assert await float_balance(sessionmaker, world, world.bakery_float.id) == before + 2500
    row = await topup_row(sessionmaker, body["id"])
    assert row.status == "paid" and row.paid_cents == 2500 and row.credit_transfer_id is not None
    credits = [t for t in await topup_transfers(sessionmaker, world) if t.meta.get("topup_id") == body["id"]]
    assert [(t.kind, t.amount) for t in credits] == [("topup", 2500)]

    seen = await client.get(f"{API}/merchants/{world.bakery.id}/float", headers=world.headers("owner"))
    assert seen.status_code == 200, seen.text
    assert seen.json()["balance"] == before + 2500 and seen.json()["debt_points"] == 0
    listed = await client.get(f"{API}/merchants/{world.bakery.id}/topups", headers=world.headers("owner"))
    assert [item["id"] for item in listed.json()["items"]] == [body["id"]]
    await check_ledger(sessionmaker, world.tenant.id)


async def test_declined_card_credits_nothing_and_an_expired_session_fails(
    client: httpx.AsyncClient, world: World, stripe_gateway: LocalstripeGateway,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    before = await float_balance(sessionmaker, world, world.bakery_float.id)
    body = (await start_topup(client, world, 1000)).json()
    with pytest.raises(stripe.CardError):
        await stripe_gateway.pay(body["checkout_session_id"], payment_method="pm_card_chargeCustomerFail")
    failed = await stripe_gateway.recorded_events(body["checkout_session_id"], "payment_intent.payment_failed")
    assert len(failed) == 1
    assert (await deliver(client, failed[0])).json()["outcome"] == "processed"
    row = await topup_row(sessionmaker, body["id"])
    assert row.status == "open" and row.paid_cents == 0 and row.failure_reason
    expired = stripe_gateway.checkout_completed(
        body["checkout_session_id"], paid=False, event_type="checkout.session.expired"
    )
    assert (await deliver(client, expired)).json()["outcome"] == "processed"
    row = await topup_row(sessionmaker, body["id"])
    assert row.status == "failed" and row.credit_transfer_id is None
    assert await float_balance(sessionmaker, world, world.bakery_float.id) == before
    assert await topup_transfers(sessionmaker, world) == [
        t for t in await topup_transfers(sessionmaker, world) if t.meta.get("topup_id") is None
    ]


async def test_duplicated_and_out_of_order_webhooks_credit_exactly_once(
    client: httpx.AsyncClient, world: World, stripe_gateway: LocalstripeGateway,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    before = await float_balance(sessionmaker, world, world.bakery_float.id)
    body, session_id = await paid_topup(client, world, stripe_gateway, 4000)
    completed = stripe_gateway.checkout_completed(session_id)
    succeeded = (await stripe_gateway.recorded_events(session_id, "payment_intent.succeeded"))[0]
    # Session completion first, then the PaymentIntent's own event, then both again, and
    # the same event delivered many times at once.
    outcomes = [(await deliver(client, payload)).json()["outcome"] for payload in (completed, succeeded, succeeded, completed)]
    assert outcomes == ["processed", "processed", "duplicate", "duplicate"]
    storm = await asyncio.gather(*(deliver(client, completed) for _ in range(8)))
    assert all(r.status_code == 200 and r.json()["outcome"] == "duplicate" for r in storm)
    assert await float_balance(sessionmaker, world, world.bakery_float.id) == before + 4000
    credits = [t for t in await topup_transfers(sessionmaker, world) if t.meta.get("topup_id") == body["id"]]
    assert len(credits) == 1
    async with sessionmaker() as session:
        count = await session.scalar(select(func.count()).select_from(StripeEvent).where(StripeEvent.topup_id == body["id"]))
    assert count == 2
    await check_ledger(sessionmaker, world.tenant.id)


async def test_refunds_in_parts_and_before_the_payment_event_take_the_points_back(
    client: httpx.AsyncClient, world: World, stripe_gateway: LocalstripeGateway,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    before = await float_balance(sessionmaker, world, world.bakery_float.id)
    body, session_id = await paid_topup(client, world, stripe_gateway, 1000)
    await stripe_gateway.refund(session_id, 300)
    refunded = await stripe_gateway.charge_refunded(session_id)
    # The refund overtakes every payment event: it names a PaymentIntent nobody linked yet.
    assert (await deliver(client, refunded)).json()["outcome"] == "parked"
    assert await float_balance(sessionmaker, world, world.bakery_float.id) == before
    assert (await deliver(client, stripe_gateway.checkout_completed(session_id))).json()["outcome"] == "processed"
    assert await float_balance(sessionmaker, world, world.bakery_float.id) == before + 700
    assert (await deliver(client, refunded)).json()["outcome"] == "duplicate"

    await stripe_gateway.refund(session_id, 700)  # the rest
    assert (await deliver(client, await stripe_gateway.charge_refunded(session_id))).json()["outcome"] == "processed"
    assert await float_balance(sessionmaker, world, world.bakery_float.id) == before
    row = await topup_row(sessionmaker, body["id"])
    assert (row.status, row.refunded_cents, row.clawed_back_points, row.debt_points) == ("refunded", 1000, 1000, 0)
    moves = [(t.kind, t.amount) for t in await topup_transfers(sessionmaker, world) if t.meta.get("topup_id") == body["id"]]
    assert moves == [("topup", 1000), ("float_clawback", 300), ("float_clawback", 700)]
    report = await client.get(f"{API}/payments/reconciliation", headers=world.headers("auditor"))
    assert report.status_code == 200, report.text
    assert report.json()["ok"] is True
    await check_ledger(sessionmaker, world.tenant.id)


async def test_refund_of_spent_float_records_a_debt_the_next_topup_repays(
    client: httpx.AsyncClient, world: World, stripe_gateway: LocalstripeGateway,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # The bookshop starts with an empty float.
    body, session_id = await paid_topup(client, world, stripe_gateway, 1000, merchant_id=world.shop.id)
    await deliver(client, stripe_gateway.checkout_completed(session_id))
    async with transaction(sessionmaker) as session:
        await ledger.post_transfer(
            session, tenant_id=world.tenant.id, idempotency_key=new_key("earn"), kind="earn",
            debit_account_id=world.shop_float.id, credit_account_id=world.an_wallet.id, amount=800,
            meta={"merchant_id": world.shop.id},
        )
    await stripe_gateway.refund(session_id)
    assert (await deliver(client, await stripe_gateway.charge_refunded(session_id))).json()["outcome"] == "processed"
    assert await float_balance(sessionmaker, world, world.shop_float.id) == 0
    row = await topup_row(sessionmaker, body["id"])
    assert (row.clawed_back_points, row.debt_points, row.status) == (200, 800, "refunded")
    seen = (await client.get(f"{API}/merchants/{world.shop.id}/float", headers=world.headers("admin"))).json()
    assert seen["debt_points"] == 800 and seen["balance"] == 0 and seen["low"] is True

    _, second_session = await paid_topup(client, world, stripe_gateway, 1500, merchant_id=world.shop.id)
    await deliver(client, stripe_gateway.checkout_completed(second_session))
    assert await float_balance(sessionmaker, world, world.shop_float.id) == 700
    async with sessionmaker() as session:
        debt = (await session.execute(select(FloatDebt).where(FloatDebt.topup_id == body["id"]))).scalar_one()
    assert debt.collected_points == 800 and debt.settled_at is not None
    seen = (await client.get(f"{API}/merchants/{world.shop.id}/float", headers=world.headers("admin"))).json()
    assert seen["debt_points"] == 0
    report = (await client.get(f"{API}/payments/reconciliation", headers=world.headers("admin"))).json()
    assert report["ok"] is True, report
    await check_ledger(sessionmaker, world.tenant.id)


async def test_a_dispute_takes_the_disputed_points_back(
    client: httpx.AsyncClient, world: World, stripe_gateway: LocalstripeGateway,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    before = await float_balance(sessionmaker, world, world.bakery_float.id)
    body, session_id = await paid_topup(client, world, stripe_gateway, 2000)
    await deliver(client, stripe_gateway.checkout_completed(session_id))
    assert (await deliver(client, stripe_gateway.dispute(session_id, 2000))).json()["outcome"] == "processed"
    assert await float_balance(sessionmaker, world, world.bakery_float.id) == before
    assert (await topup_row(sessionmaker, body["id"])).status == "refunded"


async def test_reconciliation_flags_a_payment_without_its_credit(
    client: httpx.AsyncClient, world: World, stripe_gateway: LocalstripeGateway,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    good, good_session = await paid_topup(client, world, stripe_gateway, 1200)
    await deliver(client, stripe_gateway.checkout_completed(good_session))
    bad = (await start_topup(client, world, 900)).json()
    # Simulate a bug that recorded a payment but never reached the ledger.
    async with transaction(sessionmaker) as session:
        await session.execute(update(TopUp).where(TopUp.id == bad["id"]).values(paid_cents=900, status="paid"))
    report = await client.get(f"{API}/payments/reconciliation", headers=world.headers("admin"))
    assert report.status_code == 200, report.text
    body = report.json()
    flags = {p["topup_id"]: p["flags"] for p in body["payments"]}
    assert flags == {good["id"]: [], bad["id"]: ["paid_not_credited"]}
    assert body["ok"] is False and body["flagged_count"] == 1
    # The factory's funding of the bakery is a ledger top-up without a Stripe payment.
    assert len(body["ledger_topups_without_payment"]) == 1
    assert_problem(await client.get(f"{API}/payments/reconciliation", headers=world.headers("owner")), 403)
    assert_problem(
        await client.get(f"{API}/payments/reconciliation?from=2026-05-01&to=2026-04-01", headers=world.headers("admin")),
        422, "invalid_period",
    )
