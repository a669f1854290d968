"""Undo and refund of an earn whose campaign bonus the shopper already (partly) spent.

The shop's own points come back or the undo is refused; the bonus comes back as far as
the wallet still holds points, the rest is recorded as kept; budgets stay exact.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from backend.ledger import service as ledger
from backend.ledger.models import Transfer
from backend.reports.rollup import check as rollup_check
from tests.fixtures.campaigns import campaign_detail, funded_campaign, http_earn
from tests.fixtures.ledger import assert_problem, check_ledger
from tests.fixtures.till import API, keyed, transfer_row, wallet_balance, wallet_qr, writes


@pytest.fixture
def settings(app):
    return app.state.settings


async def spend(client, world, sessionmaker, settings, points: int) -> None:
    qr = await wallet_qr(sessionmaker, world, settings)
    hold = await client.post(f"{API}/till/redemptions", json={"scan": qr.qr_text, "points": points}, headers=keyed(world))
    assert hold.status_code == 201, hold.text
    captured = await client.post(f"{API}/till/redemptions/{hold.json()['hold_id']}/capture", json={}, headers=keyed(world))
    assert captured.status_code == 201, captured.text


async def balance(sessionmaker, world, account_id: int) -> int:
    return (await wallet_balance(sessionmaker, world, account_id)).balance


async def assert_consistent(client, world, sessionmaker, campaign: dict) -> dict:
    """The campaign's figures agree with its budget account in the ledger; the rollup with the ledger."""
    budget = (await campaign_detail(client, world, campaign["id"]))["budget"]
    in_ledger = await balance(sessionmaker, world, campaign["budget_account_id"])
    assert budget["left"] == in_ledger == budget["funded"] - budget["bonus_paid"] + budget["bonus_reversed"] - budget["returned"]
    async with sessionmaker() as session:
        report = await rollup_check(session, tenant_id=world.tenant.id)
        await session.rollback()
    assert report.ok, report.differences
    await check_ledger(sessionmaker, world.tenant.id)
    return budget


async def test_undo_takes_the_shops_points_and_as_much_bonus_as_the_wallet_still_holds(client, world, sessionmaker, settings):
    campaign = await funded_campaign(client, world, 1000)  # double points
    qr = await wallet_qr(sessionmaker, world, settings)
    earned = (await http_earn(client, world, qr.qr_text, 2500)).json()
    assert (earned["points"], earned["bonus_points"]) == (25, 25)
    await spend(client, world, sessionmaker, settings, 10)
    float_before = await balance(sessionmaker, world, world.bakery_float.id)

    url = f"{API}/till/earns/{earned['transfer_id']}/undo"
    undone = await client.post(url, json={}, headers=keyed(world, key="undo-spent-bonus-1"))
    assert undone.status_code == 201, undone.text
    body = undone.json()
    (bonus,) = body["bonuses"]
    assert (body["points"], body["bonus_points"], body["bonus_points_kept"]) == (25, 15, 10)
    assert (bonus["campaign_id"], bonus["campaign_name"], bonus["points"], bonus["kept_points"]) == (
        campaign["id"], "Dubbele punten", 15, 10,
    )
    assert await balance(sessionmaker, world, world.an_wallet.id) == 0
    assert await balance(sessionmaker, world, world.bakery_float.id) == float_before + 25

    # The record: on the earn's reversal, and on the bonus's partial reversal.
    reversal = await transfer_row(sessionmaker, world.tenant.id, body["reversal_transfer_id"])
    assert reversal.meta["bonus_reversals"] == [{
        "campaign_id": campaign["id"], "bonus_transfer_id": earned["bonuses"][0]["transfer_id"],
        "wanted_points": 25, "taken_back_points": 15, "kept_points": 10,
    }]
    bonus_back = await transfer_row(sessionmaker, world.tenant.id, bonus["transfer_id"])
    assert (bonus_back.kind, bonus_back.amount, bonus_back.reverses_transfer_id) == (
        "reversal", 15, earned["bonuses"][0]["transfer_id"],
    )
    assert (bonus_back.meta["wanted_points"], bonus_back.meta["kept_points"]) == (25, 10)

    # A retry answers the same and posts nothing; another undo is refused.
    before = await writes(sessionmaker, world.tenant.id)
    again = await client.post(url, json={}, headers=keyed(world, key="undo-spent-bonus-1"))
    assert again.status_code == 201 and again.json() == body and again.headers.get("Idempotent-Replayed") == "true"
    assert_problem(await client.post(url, json={}, headers=keyed(world)), 409, "already_reversed")
    assert await writes(sessionmaker, world.tenant.id) == before

    budget = await assert_consistent(client, world, sessionmaker, campaign)
    assert budget == {"funded": 1000, "bonus_paid": 25, "bonus_reversed": 15, "bonus_kept": 10, "returned": 0, "left": 990}


async def test_a_spent_bonus_is_kept_whole_and_spent_shop_points_refuse_the_undo(client, world, sessionmaker, settings):
    campaign = await funded_campaign(client, world, 1000)
    qr = await wallet_qr(sessionmaker, world, settings)
    first = (await http_earn(client, world, qr.qr_text, 2500)).json()
    await spend(client, world, sessionmaker, settings, 25)  # exactly the bonus
    undone = await client.post(f"{API}/till/earns/{first['transfer_id']}/undo", json={}, headers=keyed(world))
    assert undone.status_code == 201, undone.text
    body = undone.json()
    assert (body["points"], body["bonus_points"], body["bonus_points_kept"]) == (25, 0, 25)
    assert [(b["points"], b["kept_points"], b["transfer_id"]) for b in body["bonuses"]] == [(0, 25, None)]
    assert await balance(sessionmaker, world, world.an_wallet.id) == 0
    async with sessionmaker() as session:
        bonus_reversals = await session.scalar(
            select(func.count()).select_from(Transfer).where(
                Transfer.tenant_id == world.tenant.id, Transfer.reverses_transfer_id == first["bonuses"][0]["transfer_id"]
            )
        )
        await session.rollback()
    assert bonus_reversals == 0

    # The shopper spent some of the shop's own points too: a clear refusal, nothing written.
    second = (await http_earn(client, world, qr.qr_text, 2500)).json()
    await spend(client, world, sessionmaker, settings, 26)
    before = await writes(sessionmaker, world.tenant.id)
    refused = assert_problem(
        await client.post(f"{API}/till/earns/{second['transfer_id']}/undo", json={}, headers=keyed(world)),
        409, "insufficient_funds",
    )
    assert "already spent" in refused["detail"] and (refused["available"], refused["requested"]) == (24, 25)
    assert await writes(sessionmaker, world.tenant.id) == before

    budget = await assert_consistent(client, world, sessionmaker, campaign)
    assert budget == {"funded": 1000, "bonus_paid": 50, "bonus_reversed": 0, "bonus_kept": 25, "returned": 0, "left": 950}


async def test_refund_takes_bonuses_back_in_campaign_order_as_far_as_points_remain(client, world, sessionmaker, settings):
    fixed = await funded_campaign(client, world, 1000, name="Vaste bonus", multiplier_percent=None, fixed_points=20)
    double = await funded_campaign(client, world, 1000, name="Dubbel")
    qr = await wallet_qr(sessionmaker, world, settings)
    earned = (await http_earn(client, world, qr.qr_text, 5000)).json()
    assert (earned["points"], [b["points"] for b in earned["bonuses"]]) == (50, [20, 50])
    await spend(client, world, sessionmaker, settings, 90)  # 30 of 120 left

    url = f"{API}/till/earns/{earned['transfer_id']}/refund"
    refunded = await client.post(url, json={"refund_cents": 2000}, headers=keyed(world, key="refund-two-campaigns"))
    assert refunded.status_code == 201, refunded.text
    body = refunded.json()
    # 20 shop points back; then floor(20 x 20/50) = 8 and floor(50 x 20/50) = 20 wanted from the 10 left.
    assert (body["points"], body["bonus_points"], body["bonus_points_kept"]) == (20, 10, 18)
    assert [(b["campaign_name"], b["points"], b["kept_points"]) for b in body["bonuses"]] == [
        ("Vaste bonus", 8, 0), ("Dubbel", 2, 18),
    ]
    assert all(b["transfer_id"] for b in body["bonuses"])
    assert await balance(sessionmaker, world, world.an_wallet.id) == 0

    before = await writes(sessionmaker, world.tenant.id)
    again = await client.post(url, json={"refund_cents": 2000}, headers=keyed(world, key="refund-two-campaigns"))
    assert again.status_code == 201 and again.json() == body
    assert_problem(
        await client.post(url, json={"refund_cents": 1000}, headers=keyed(world, key="refund-two-campaigns")),
        409, "idempotency_key_reused",
    )
    assert_problem(await client.post(url, json={"refund_cents": 1000}, headers=keyed(world)), 409, "already_reversed")
    assert await writes(sessionmaker, world.tenant.id) == before

    assert await assert_consistent(client, world, sessionmaker, fixed) == {
        "funded": 1000, "bonus_paid": 20, "bonus_reversed": 8, "bonus_kept": 0, "returned": 0, "left": 988,
    }
    assert await assert_consistent(client, world, sessionmaker, double) == {
        "funded": 1000, "bonus_paid": 50, "bonus_reversed": 2, "bonus_kept": 18, "returned": 0, "left": 952,
    }


async def test_an_undo_racing_a_spend_never_takes_more_than_the_wallet_holds(client, world, sessionmaker, settings, backend):
    if backend != "postgresql":
        pytest.skip("SQLite runs one writer at a time (BEGIN IMMEDIATE): nothing races there")
    campaign = await funded_campaign(client, world, 10_000)
    for _ in range(6):
        qr = await wallet_qr(sessionmaker, world, settings)
        earned = (await http_earn(client, world, qr.qr_text, 2500)).json()  # 25 + 25
        held_before = await wallet_balance(sessionmaker, world, world.an_wallet.id)
        spend_qr = await wallet_qr(sessionmaker, world, settings)
        undo, hold = await asyncio.gather(
            client.post(f"{API}/till/earns/{earned['transfer_id']}/undo", json={}, headers=keyed(world)),
            client.post(f"{API}/till/redemptions", json={"scan": spend_qr.qr_text, "points": 20}, headers=keyed(world)),
        )
        assert undo.status_code == 201, undo.text
        body = undo.json()
        assert body["points"] == 25 and body["bonus_points"] + body["bonus_points_kept"] == 25
        after = await wallet_balance(sessionmaker, world, world.an_wallet.id)
        assert after.available >= 0
        # Whatever won, the hold and the undo together never took more than the wallet had.
        held = 20 if hold.status_code == 201 else 0
        assert hold.status_code in (201, 409)
        assert after.balance == held_before.balance - 25 - body["bonus_points"]
        assert after.pending == held_before.pending + held
        if held:
            void = await client.post(f"{API}/till/redemptions/{hold.json()['hold_id']}/void", json={}, headers=keyed(world))
            assert void.status_code == 200, void.text
    budget = await assert_consistent(client, world, sessionmaker, campaign)
    assert budget["bonus_paid"] == 150 and budget["bonus_reversed"] + budget["bonus_kept"] == 150
    async with sessionmaker() as session:
        left = (await ledger.get_balance(session, tenant_id=world.tenant.id, account_id=world.an_wallet.id)).balance
        await session.rollback()
    assert left == budget["bonus_kept"]
