"""Earning at the till: the earn rule, the daily cap, the float, replays, undo and refund."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.auth.models import Role
from backend.core.types import utcnow
from backend.ledger.models import Transfer
from tests.fixtures.auth import create_pos_key
from tests.fixtures.ledger import assert_problem, check_ledger
from tests.fixtures.till import (
    API,
    earn_at,
    keyed,
    set_merchant_status,
    set_rules,
    staff_token,
    transfer_row,
    wallet_balance,
    wallet_qr,
    writes,
)


@pytest.fixture
def settings(app):
    return app.state.settings


async def _earn(client, world, scan, cents, who="cashier", key=None):
    return await client.post(
        f"{API}/till/earns",
        json={"scan": scan, "purchase_cents": cents},
        headers=keyed(world, who, key),
    )


async def test_earn_rule_rounds_down_uses_the_category_rate_and_answers_the_contract(
    client, world, sessionmaker, settings
):
    await set_rules(
        sessionmaker, world.tenant.id, points_per_euro=2, category_points_per_euro={"bakery": 3}
    )
    qr = await wallet_qr(sessionmaker, world, settings)
    response = await _earn(client, world, qr.qr_text, 1999)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (
        body["points"] == 59 and body["purchase_cents"] == 1999 and body["capped"] is False
    )  # floor(59.97)
    assert body["shopper_display"] == "An"
    created = datetime.fromisoformat(body["created_at"])
    assert datetime.fromisoformat(body["undo_until"]) - created == timedelta(seconds=900)
    transfer = await transfer_row(sessionmaker, world.tenant.id, body["transfer_id"])
    assert transfer.kind == "earn"
    assert (transfer.debit_account_id, transfer.credit_account_id) == (
        world.bakery_float.id,
        world.an_wallet.id,
    )
    assert transfer.meta == {
        "purchase_cents": 1999,
        "merchant_id": world.bakery.id,
        "rate": 3,
        "capped": False,
        "cashier_user_id": world.users["cashier"].id,
    }
    await check_ledger(sessionmaker, world.tenant.id)


async def test_the_owner_and_a_pos_key_earn_too(client, world, sessionmaker, settings):
    qr = await wallet_qr(sessionmaker, world, settings)
    assert (await _earn(client, world, qr.qr_text, 500, who="owner")).status_code == 201
    async with sessionmaker() as session:
        key, raw = await create_pos_key(
            session, tenant_id=world.tenant.id, merchant_id=world.bakery.id
        )
    response = await client.post(
        f"{API}/till/earns",
        json={"scan": qr.qr_text, "purchase_cents": 700},
        headers={"X-API-Key": raw, "Idempotency-Key": "pos-key-earn-1"},
    )
    assert response.status_code == 201, response.text
    transfer = await transfer_row(sessionmaker, world.tenant.id, response.json()["transfer_id"])
    assert transfer.meta["pos_key_id"] == key.id and "cashier_user_id" not in transfer.meta
    assert (await wallet_balance(sessionmaker, world, world.an_wallet.id)).balance == 12


async def test_minimum_purchase_and_purchases_worth_no_point_are_refused(
    client, world, sessionmaker, settings
):
    qr = await wallet_qr(sessionmaker, world, settings)
    before = await writes(sessionmaker, world.tenant.id)
    assert_problem(await _earn(client, world, qr.qr_text, 99), 422, "purchase_below_minimum")
    await set_rules(sessionmaker, world.tenant.id, min_purchase_cents=500)
    body = assert_problem(
        await _earn(client, world, qr.qr_text, 499), 422, "purchase_below_minimum"
    )
    assert body["min_purchase_cents"] == 500
    assert await writes(sessionmaker, world.tenant.id) == before
    assert (await _earn(client, world, qr.qr_text, 500)).json()["points"] == 5


async def test_daily_cap_cuts_then_refuses_and_resets_on_the_next_brussels_day(
    client, world, sessionmaker, settings
):
    await set_rules(sessionmaker, world.tenant.id, daily_cap_points=50)
    qr = await wallet_qr(sessionmaker, world, settings)
    first = (await _earn(client, world, qr.qr_text, 3000)).json()
    assert (first["points"], first["capped"]) == (30, False)
    second = (await _earn(client, world, qr.qr_text, 3000)).json()
    assert (second["points"], second["capped"]) == (20, True)
    before = await writes(sessionmaker, world.tenant.id)
    body = assert_problem(await _earn(client, world, qr.qr_text, 3000), 409, "daily_cap_reached")
    assert body["earned_today"] == 50 and body["daily_cap_points"] == 50
    assert await writes(sessionmaker, world.tenant.id) == before
    # The cap is per shop: the same shopper still earns at the bookshop (once it has a float).
    from backend.core.db import transaction
    from tests.fixtures.factories import fund

    async with transaction(sessionmaker) as session:
        await fund(session, tenant=world.tenant, float_account=world.shop_float, amount=1000)
    shop_cashier = await staff_token(sessionmaker, client, world, world.shop, Role.CASHIER)
    other = await client.post(
        f"{API}/till/earns",
        json={"scan": qr.qr_text, "purchase_cents": 1000},
        headers={**shop_cashier, "Idempotency-Key": "shop-earn-0001"},
    )
    assert other.status_code == 201 and other.json()["points"] == 10


async def test_daily_cap_follows_the_brussels_calendar_day_and_counts_undone_earns_back(
    world, sessionmaker, settings
):
    await set_rules(
        sessionmaker, world.tenant.id, daily_cap_points=40, qr_token_ttl_seconds=3600 * 6
    )
    # 23:30 Brussels summer time is 21:30 UTC; 00:30 the next day is 22:30 UTC.
    late = datetime(2026, 6, 1, 21, 30, tzinfo=UTC)
    qr = await wallet_qr(sessionmaker, world, settings, now=late - timedelta(minutes=1))
    assert (
        await earn_at(sessionmaker, world, settings, scan=qr.qr_text, purchase_cents=4000, now=late)
    ).amount == 40
    next_day = late + timedelta(hours=1)
    assert (
        await earn_at(
            sessionmaker, world, settings, scan=qr.qr_text, purchase_cents=4000, now=next_day
        )
    ).amount == 40
    from backend.till.errors import DailyCapReached

    with pytest.raises(DailyCapReached):
        await earn_at(
            sessionmaker, world, settings, scan=qr.qr_text, purchase_cents=100, now=next_day
        )


async def test_undo_frees_the_cap_again(client, world, sessionmaker, settings):
    await set_rules(sessionmaker, world.tenant.id, daily_cap_points=30)
    qr = await wallet_qr(sessionmaker, world, settings)
    earned = (await _earn(client, world, qr.qr_text, 3000)).json()
    assert_problem(await _earn(client, world, qr.qr_text, 100), 409, "daily_cap_reached")
    undone = await client.post(
        f"{API}/till/earns/{earned['transfer_id']}/undo", json={}, headers=keyed(world)
    )
    assert undone.status_code == 201 and undone.json()["points"] == 30
    assert (await _earn(client, world, qr.qr_text, 3000)).json()["points"] == 30


async def test_an_empty_float_refuses_the_earn_with_a_message_for_the_cashier(
    client, world, sessionmaker, settings
):
    qr = await wallet_qr(sessionmaker, world, settings)
    shop_cashier = await staff_token(sessionmaker, client, world, world.shop, Role.CASHIER)
    before = await writes(sessionmaker, world.tenant.id)
    response = await client.post(
        f"{API}/till/earns",
        json={"scan": qr.qr_text, "purchase_cents": 1000},
        headers={**shop_cashier, "Idempotency-Key": "empty-float-1"},
    )
    body = assert_problem(response, 409, "float_exhausted")
    assert "top up" in body["detail"] and body["available"] == 0 and body["requested"] == 10
    assert await writes(sessionmaker, world.tenant.id) == before


async def test_same_key_twice_is_one_transfer_and_the_same_answer(
    client, world, sessionmaker, settings
):
    qr = await wallet_qr(sessionmaker, world, settings)
    first = await _earn(client, world, qr.qr_text, 1234, key="earn-replay-key-1")
    second = await _earn(client, world, qr.qr_text, 1234, key="earn-replay-key-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert (
        second.headers.get("Idempotent-Replayed") == "true"
        and "Idempotent-Replayed" not in first.headers
    )
    before = await writes(sessionmaker, world.tenant.id)
    assert_problem(
        await _earn(client, world, qr.qr_text, 999, key="earn-replay-key-1"),
        409,
        "idempotency_key_reused",
    )
    assert await writes(sessionmaker, world.tenant.id) == before
    assert before.transfers == 2  # the top-up and one earn
    assert (await wallet_balance(sessionmaker, world, world.an_wallet.id)).balance == 12


async def test_a_replay_after_the_token_expired_still_returns_the_original(
    world, sessionmaker, settings
):
    now = utcnow()
    qr = await wallet_qr(sessionmaker, world, settings, now=now)
    first = await earn_at(
        sessionmaker,
        world,
        settings,
        scan=qr.qr_text,
        purchase_cents=800,
        now=now,
        key="late-retry-1",
    )
    again = await earn_at(
        sessionmaker,
        world,
        settings,
        scan=qr.qr_text,
        purchase_cents=800,
        now=now + timedelta(hours=1),
        key="late-retry-1",
    )
    assert again.id == first.id and again.replayed


@pytest.mark.parametrize(
    "body",
    [
        {"purchase_cents": 0},
        {"purchase_cents": -500},
        {"purchase_cents": 12.5},
        {"purchase_cents": "1000"},
        {"purchase_cents": True},
        {"purchase_cents": 10**15},
        {"purchase_cents": None},
        {},
        {"purchase_cents": 1000, "points": 5},
    ],
)
async def test_bad_amounts_are_422_and_write_nothing(client, world, sessionmaker, settings, body):
    qr = await wallet_qr(sessionmaker, world, settings)
    before = await writes(sessionmaker, world.tenant.id)
    assert_problem(
        await client.post(
            f"{API}/till/earns", json={"scan": qr.qr_text, **body}, headers=keyed(world)
        ),
        422,
        "validation_error",
    )
    assert await writes(sessionmaker, world.tenant.id) == before


async def test_only_shop_staff_use_the_till(client, world, sessionmaker, settings):
    qr = await wallet_qr(sessionmaker, world, settings)
    before = await writes(sessionmaker, world.tenant.id)
    for who in ("admin", "auditor", "shopper"):
        assert_problem(await _earn(client, world, qr.qr_text, 1000, who=who), 403, "forbidden")
    assert_problem(
        await client.post(f"{API}/till/earns", json={"scan": qr.qr_text, "purchase_cents": 1000}),
        401,
    )
    assert_problem(
        await client.post(
            f"{API}/till/earns",
            json={"scan": qr.qr_text, "purchase_cents": 1000},
            headers=world.headers("cashier"),
        ),
        400,
        "idempotency_key_missing",
    )
    assert await writes(sessionmaker, world.tenant.id) == before


@pytest.mark.parametrize("status", ["suspended", "pending"])
async def test_a_suspended_or_pending_shop_cannot_earn_redeem_or_issue_claims(
    client, world, sessionmaker, settings, status
):
    qr = await wallet_qr(sessionmaker, world, settings)
    assert (await _earn(client, world, qr.qr_text, 1000)).status_code == 201
    await set_merchant_status(sessionmaker, world.bakery.id, status)
    before = await writes(sessionmaker, world.tenant.id)
    for path, body in (
        ("/till/earns", {"scan": qr.qr_text, "purchase_cents": 1000}),
        ("/till/redemptions", {"scan": qr.qr_text, "points": 1}),
        ("/till/claims", {"purchase_cents": 1000}),
        ("/till/identify", {"scan": qr.qr_text}),
    ):
        body = assert_problem(
            await client.post(f"{API}{path}", json=body, headers=keyed(world)),
            403,
            "merchant_suspended",
        )
    assert await writes(sessionmaker, world.tenant.id) == before


async def test_identify_shows_the_first_name_and_for_spending_the_available_points(
    client, world, sessionmaker, settings
):
    qr = await wallet_qr(sessionmaker, world, settings)
    await _earn(client, world, qr.qr_text, 4200)
    earn_view = await client.post(
        f"{API}/till/identify",
        json={"scan": qr.qr_text, "purpose": "earn"},
        headers=world.headers("cashier"),
    )
    assert earn_view.status_code == 200, earn_view.text
    assert earn_view.json() == {
        "kind": "wallet",
        "display": "An",
        "card_last4": None,
        "needs_pin": False,
        "available_points": None,
        "token_expires_at": qr.expires_at.isoformat().replace("+00:00", "Z"),
    }
    spend_view = await client.post(
        f"{API}/till/identify",
        json={"scan": qr.short_code, "purpose": "spend"},
        headers=world.headers("cashier"),
    )
    assert spend_view.json()["available_points"] == 42


async def test_undo_within_the_window_once_and_not_after_it(client, world, sessionmaker, settings):
    qr = await wallet_qr(sessionmaker, world, settings)
    earned = (await _earn(client, world, qr.qr_text, 2500)).json()
    url = f"{API}/till/earns/{earned['transfer_id']}/undo"
    first = await client.post(url, json={}, headers=keyed(world, key="undo-key-0001"))
    again = await client.post(url, json={}, headers=keyed(world, key="undo-key-0001"))
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert first.json()["points"] == 25 and again.headers.get("Idempotent-Replayed") == "true"
    before = await writes(sessionmaker, world.tenant.id)
    assert_problem(await client.post(url, json={}, headers=keyed(world)), 409, "already_reversed")
    assert await writes(sessionmaker, world.tenant.id) == before
    assert (await wallet_balance(sessionmaker, world, world.an_wallet.id)).balance == 0

    old = await earn_at(
        sessionmaker,
        world,
        settings,
        scan=(
            await wallet_qr(sessionmaker, world, settings, now=utcnow() - timedelta(minutes=16))
        ).qr_text,
        purchase_cents=1000,
        now=utcnow() - timedelta(minutes=16),
    )
    before = await writes(sessionmaker, world.tenant.id)
    body = assert_problem(
        await client.post(f"{API}/till/earns/{old.id}/undo", json={}, headers=keyed(world)),
        409,
        "undo_window_passed",
    )
    assert "undo_until" in body
    assert await writes(sessionmaker, world.tenant.id) == before
    # A refund has no window.
    refund = await client.post(
        f"{API}/till/earns/{old.id}/refund", json={"refund_cents": 1000}, headers=keyed(world)
    )
    assert refund.status_code == 201 and refund.json()["points"] == 10
    await check_ledger(sessionmaker, world.tenant.id)


async def test_partial_refund_takes_back_points_at_the_original_rate_once(
    client, world, sessionmaker, settings
):
    await set_rules(sessionmaker, world.tenant.id, points_per_euro=3)
    qr = await wallet_qr(sessionmaker, world, settings)
    earned = (await _earn(client, world, qr.qr_text, 5000)).json()
    assert earned["points"] == 150
    await set_rules(
        sessionmaker, world.tenant.id, points_per_euro=10
    )  # a later rate change does not matter
    url = f"{API}/till/earns/{earned['transfer_id']}/refund"
    before = await writes(sessionmaker, world.tenant.id)
    assert_problem(
        await client.post(url, json={"refund_cents": 5001}, headers=keyed(world)),
        422,
        "refund_exceeds_purchase",
    )
    assert_problem(
        await client.post(url, json={"refund_cents": 33}, headers=keyed(world)),
        422,
        "refund_too_small",
    )
    for bad in (0, -1, 1.5, "10", None):
        assert_problem(
            await client.post(url, json={"refund_cents": bad}, headers=keyed(world)),
            422,
            "validation_error",
        )
    assert await writes(sessionmaker, world.tenant.id) == before
    refund = await client.post(url, json={"refund_cents": 1999}, headers=keyed(world))
    assert refund.status_code == 201 and refund.json()["points"] == 59  # floor(1999 * 3 / 100)
    assert_problem(
        await client.post(url, json={"refund_cents": 100}, headers=keyed(world)),
        409,
        "already_reversed",
    )
    assert (await wallet_balance(sessionmaker, world, world.an_wallet.id)).balance == 91


async def test_another_shop_cannot_undo_or_refund_and_cannot_tell_the_earn_exists(
    client, world, sessionmaker, settings
):
    qr = await wallet_qr(sessionmaker, world, settings)
    earned = (await _earn(client, world, qr.qr_text, 2500)).json()
    shop_owner = await staff_token(sessionmaker, client, world, world.shop, Role.MERCHANT_OWNER)
    before = await writes(sessionmaker, world.tenant.id)
    for action, body in (("undo", {}), ("refund", {"refund_cents": 100})):
        for transfer_id in (earned["transfer_id"], 10**12):
            response = await client.post(
                f"{API}/till/earns/{transfer_id}/{action}",
                json=body,
                headers={**shop_owner, "Idempotency-Key": f"x-shop-{action}-{transfer_id}"},
            )
            assert_problem(response, 404, "earn_not_found")
    # Nor is a top-up an "earn" the bakery can undo.
    async with sessionmaker() as session:
        from sqlalchemy import select

        topup_id = await session.scalar(
            select(Transfer.id).where(
                Transfer.tenant_id == world.tenant.id, Transfer.kind == "topup"
            )
        )
        await session.rollback()
    assert_problem(
        await client.post(f"{API}/till/earns/{topup_id}/undo", json={}, headers=keyed(world)),
        404,
        "earn_not_found",
    )
    assert await writes(sessionmaker, world.tenant.id) == before


async def test_undo_after_the_shopper_spent_the_points_is_refused(
    client, world, sessionmaker, settings
):
    qr = await wallet_qr(sessionmaker, world, settings)
    earned = (await _earn(client, world, qr.qr_text, 2500)).json()
    spend_qr = await wallet_qr(sessionmaker, world, settings)
    hold = await client.post(
        f"{API}/till/redemptions",
        json={"scan": spend_qr.qr_text, "points": 20},
        headers=keyed(world),
    )
    assert hold.status_code == 201, hold.text
    before = await writes(sessionmaker, world.tenant.id)
    assert_problem(
        await client.post(
            f"{API}/till/earns/{earned['transfer_id']}/undo", json={}, headers=keyed(world)
        ),
        409,
        "insufficient_funds",
    )
    assert await writes(sessionmaker, world.tenant.id) == before
