"""Spending at the till: holds for points or a discount, single-use phone tokens, capture and void."""

from __future__ import annotations

import asyncio

import pytest

from backend.auth.models import Role
from tests.fixtures.ledger import assert_problem, check_ledger
from tests.fixtures.till import (
    API,
    keyed,
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


async def _fill(client, world, sessionmaker, settings, cents=10_000):
    qr = await wallet_qr(sessionmaker, world, settings)
    response = await client.post(
        f"{API}/till/earns",
        json={"scan": qr.qr_text, "purchase_cents": cents},
        headers=keyed(world),
    )
    assert response.status_code == 201, response.text
    return qr


async def _redeem(client, world, body, who="cashier", key=None):
    return await client.post(f"{API}/till/redemptions", json=body, headers=keyed(world, who, key))


async def test_spend_points_hold_then_capture(client, world, sessionmaker, settings):
    await _fill(client, world, sessionmaker, settings)
    qr = await wallet_qr(sessionmaker, world, settings)
    response = await _redeem(client, world, {"scan": qr.qr_text, "points": 40})
    assert response.status_code == 201, response.text
    hold = response.json()
    assert hold["points"] == 40 and hold["discount_cents"] == 40 and hold["status"] == "pending"
    assert hold["shopper_display"] == "An"
    balance = await wallet_balance(sessionmaker, world, world.an_wallet.id)
    assert (balance.balance, balance.pending) == (100, 40)
    url = f"{API}/till/redemptions/{hold['hold_id']}/capture"
    captured = await client.post(url, json={}, headers=keyed(world, key="capture-key-1"))
    again = await client.post(url, json={}, headers=keyed(world, key="capture-key-1"))
    assert captured.status_code == again.status_code == 201 and captured.json() == again.json()
    assert captured.json()["points"] == 40 and captured.json()["discount_cents"] == 40
    transfer = await transfer_row(sessionmaker, world.tenant.id, captured.json()["transfer_id"])
    assert transfer.kind == "redeem" and transfer.credit_account_id == world.bakery_redeemed.id
    balance = await wallet_balance(sessionmaker, world, world.an_wallet.id)
    assert (balance.balance, balance.pending) == (60, 0)
    await check_ledger(sessionmaker, world.tenant.id)


async def test_a_discount_becomes_whole_points_rounded_down(client, world, sessionmaker, settings):
    await _fill(client, world, sessionmaker, settings)
    await set_rules(sessionmaker, world.tenant.id, point_value_cents=3)
    qr = await wallet_qr(sessionmaker, world, settings)
    hold = (await _redeem(client, world, {"scan": qr.qr_text, "discount_cents": 100})).json()
    assert (hold["points"], hold["discount_cents"]) == (33, 99)
    qr = await wallet_qr(sessionmaker, world, settings)
    before = await writes(sessionmaker, world.tenant.id)
    assert_problem(
        await _redeem(client, world, {"scan": qr.qr_text, "discount_cents": 2}),
        422,
        "invalid_amount",
    )
    assert await writes(sessionmaker, world.tenant.id) == before


async def test_a_phone_token_pays_once_but_a_replay_returns_the_hold(
    client, world, sessionmaker, settings
):
    await _fill(client, world, sessionmaker, settings)
    qr = await wallet_qr(sessionmaker, world, settings)
    first = await _redeem(client, world, {"scan": qr.qr_text, "points": 10}, key="spend-once-1")
    replay = await _redeem(client, world, {"scan": qr.qr_text, "points": 10}, key="spend-once-1")
    assert first.status_code == replay.status_code == 201 and first.json() == replay.json()
    assert replay.headers.get("Idempotent-Replayed") == "true"
    before = await writes(sessionmaker, world.tenant.id)
    for scan in (qr.qr_text, qr.short_code):
        assert_problem(
            await _redeem(client, world, {"scan": scan, "points": 10}), 409, "token_used"
        )
    assert_problem(
        await client.post(
            f"{API}/till/identify",
            json={"scan": qr.qr_text, "purpose": "spend"},
            headers=world.headers("cashier"),
        ),
        409,
        "token_used",
    )
    assert await writes(sessionmaker, world.tenant.id) == before
    # Earning with it still works until it expires: only spending is single use.
    earned = await client.post(
        f"{API}/till/earns", json={"scan": qr.qr_text, "purchase_cents": 100}, headers=keyed(world)
    )
    assert earned.status_code == 201


async def test_spending_more_than_available_writes_nothing_and_keeps_the_token(
    client, world, sessionmaker, settings
):
    await _fill(client, world, sessionmaker, settings, cents=5000)
    qr = await wallet_qr(sessionmaker, world, settings)
    before = await writes(sessionmaker, world.tenant.id)
    body = assert_problem(
        await _redeem(client, world, {"scan": qr.qr_text, "points": 51}), 409, "insufficient_funds"
    )
    assert body["available"] == 50
    assert await writes(sessionmaker, world.tenant.id) == before
    assert (await _redeem(client, world, {"scan": qr.qr_text, "points": 50})).status_code == 201


@pytest.mark.parametrize(
    "amounts",
    [
        {"points": 0},
        {"points": -5},
        {"points": 2.5},
        {"points": "5"},
        {"points": True},
        {"points": 10**13},
        {"discount_cents": 0},
        {"discount_cents": -100},
        {"discount_cents": 99.9},
        {"discount_cents": 10**13},
        {},
        {"points": 5, "discount_cents": 5},
        {"points": 5, "pin": 1234},
    ],
)
async def test_bad_amounts_are_422_and_write_nothing(
    client, world, sessionmaker, settings, amounts
):
    await _fill(client, world, sessionmaker, settings)
    qr = await wallet_qr(sessionmaker, world, settings)
    before = await writes(sessionmaker, world.tenant.id)
    assert_problem(
        await _redeem(client, world, {"scan": qr.qr_text, **amounts}), 422, "validation_error"
    )
    assert await writes(sessionmaker, world.tenant.id) == before


async def test_void_releases_the_points_and_only_the_shop_of_the_hold_can_act_on_it(
    client, world, sessionmaker, settings
):
    await _fill(client, world, sessionmaker, settings)
    qr = await wallet_qr(sessionmaker, world, settings)
    hold = (await _redeem(client, world, {"scan": qr.qr_text, "points": 30})).json()
    shop_cashier = await staff_token(sessionmaker, client, world, world.shop, Role.CASHIER)
    before = await writes(sessionmaker, world.tenant.id)
    for hold_id in (hold["hold_id"], 10**12):
        assert_problem(
            await client.post(
                f"{API}/till/redemptions/{hold_id}/capture",
                json={},
                headers={**shop_cashier, "Idempotency-Key": f"other-hold-{hold_id}"},
            ),
            404,
            "redemption_not_found",
        )
        assert_problem(
            await client.post(
                f"{API}/till/redemptions/{hold_id}/void", json={}, headers=shop_cashier
            ),
            404,
            "redemption_not_found",
        )
    assert await writes(sessionmaker, world.tenant.id) == before

    voided = await client.post(
        f"{API}/till/redemptions/{hold['hold_id']}/void", json={}, headers=world.headers("cashier")
    )
    assert voided.status_code == 200 and voided.json()["status"] == "voided"
    balance = await wallet_balance(sessionmaker, world, world.an_wallet.id)
    assert (balance.balance, balance.pending) == (100, 0)
    assert_problem(
        await client.post(
            f"{API}/till/redemptions/{hold['hold_id']}/capture", json={}, headers=keyed(world)
        ),
        409,
        "hold_already_resolved",
    )
    await check_ledger(sessionmaker, world.tenant.id)


async def test_an_expired_hold_cannot_be_captured(client, world, sessionmaker, settings):
    await _fill(client, world, sessionmaker, settings)
    await set_rules(sessionmaker, world.tenant.id, hold_timeout_seconds=1)
    qr = await wallet_qr(sessionmaker, world, settings)
    hold = (await _redeem(client, world, {"scan": qr.qr_text, "points": 30})).json()
    await asyncio.sleep(1.1)
    before = await writes(sessionmaker, world.tenant.id)
    assert_problem(
        await client.post(
            f"{API}/till/redemptions/{hold['hold_id']}/capture", json={}, headers=keyed(world)
        ),
        409,
        "hold_expired",
    )
    assert (await wallet_balance(sessionmaker, world, world.an_wallet.id)).available == 100
    assert (await writes(sessionmaker, world.tenant.id)).transfers == before.transfers
