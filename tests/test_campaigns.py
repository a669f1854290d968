"""Campaign bonuses at the till: arithmetic (rounding down), eligibility, budgets, reversals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backend.campaigns.models import Campaign
from backend.campaigns.rules import bonus_points, reversed_bonus
from tests.fixtures.campaigns import (
    campaign_detail,
    create_campaign,
    fund_campaign,
    funded_campaign,
    http_earn,
)
from tests.fixtures.factories import new_key
from tests.fixtures.ledger import check_ledger
from tests.fixtures.till import (
    API,
    earn_at,
    keyed,
    set_rules,
    transfer_row,
    wallet_balance,
    wallet_qr,
)


@pytest.fixture
def settings(app):
    return app.state.settings


@pytest.mark.parametrize(
    ("multiplier", "fixed", "earned", "bonus"),
    [
        (200, None, 25, 25),  # double points
        (150, None, 25, 12),  # 12.5 -> 12: always down
        (150, None, 1, 0),  # 0.5 -> 0
        (125, None, 7, 1),  # 1.75 -> 1
        (300, None, 33, 66),
        (101, None, 99, 0),  # 0.99 -> 0
        (101, None, 100, 1),
        (None, 50, 3, 50),  # fixed bonus whatever the purchase
        (None, 50, 0, 0),  # no earn, no bonus
    ],
)
def test_bonus_arithmetic_rounds_down(multiplier, fixed, earned, bonus):
    campaign = Campaign(tenant_id=1, name="x", multiplier_percent=multiplier, fixed_points=fixed, starts_at=datetime.now(UTC))
    assert bonus_points(campaign, earned) == bonus


@pytest.mark.parametrize(
    ("bonus", "earned", "taken_back", "back"),
    [(25, 25, 25, 25), (25, 25, 10, 10), (12, 25, 10, 4), (7, 10, 3, 2), (50, 3, 1, 16), (5, 0, 0, 0)],
)
def test_refunded_bonus_is_proportional_and_rounds_down(bonus, earned, taken_back, back):
    assert reversed_bonus(bonus, earned=earned, taken_back=taken_back) == back


async def test_double_points_bonus_is_a_separate_transfer_shown_to_the_cashier(client, world, sessionmaker, settings):
    campaign = await funded_campaign(client, world, 1000, name="Dubbel in december")
    qr = await wallet_qr(sessionmaker, world, settings)
    response = await http_earn(client, world, qr.qr_text, 2550)  # 25 points at 1/euro
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["points"] == 25 and body["bonus_points"] == 25
    (bonus,) = body["bonuses"]
    assert bonus["campaign_name"] == "Dubbel in december" and bonus["points"] == 25
    transfer = await transfer_row(sessionmaker, world.tenant.id, bonus["transfer_id"])
    assert transfer.kind == "bonus" and transfer.credit_account_id == world.an_wallet.id
    assert transfer.debit_account_id == campaign["budget_account_id"]
    assert transfer.meta["merchant_id"] == world.bakery.id and transfer.meta["earn_transfer_id"] == body["transfer_id"]
    assert (await wallet_balance(sessionmaker, world, world.an_wallet.id)).balance == 50
    detail = await campaign_detail(client, world, campaign["id"])
    assert detail["budget"] == {
        "funded": 1000, "bonus_paid": 25, "bonus_reversed": 0, "bonus_kept": 0, "returned": 0, "left": 975,
    }
    assert detail["awards"] == 1 and detail["status"] == "running"
    # A retry with the same key replays the earn and its bonus, paying nothing twice.
    again = await http_earn(client, world, qr.qr_text, 2550, key=None)
    assert again.status_code == 201
    await check_ledger(sessionmaker, world.tenant.id)


async def test_replayed_earn_does_not_double_the_bonus(client, world, sessionmaker, settings):
    await funded_campaign(client, world, 1000)
    qr = await wallet_qr(sessionmaker, world, settings)
    key = new_key("till")
    first = await http_earn(client, world, qr.qr_text, 1000, key=key)
    second = await http_earn(client, world, qr.qr_text, 1000, key=key)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.json()["bonuses"] == second.json()["bonuses"] and second.json()["bonus_points"] == 10
    assert (await wallet_balance(sessionmaker, world, world.an_wallet.id)).balance == 20


async def test_campaigns_stack_from_the_same_base_and_bonus_follows_the_capped_points(client, world, sessionmaker, settings):
    await set_rules(sessionmaker, world.tenant.id, daily_cap_points=30, points_per_euro=3)
    await funded_campaign(client, world, 1000, name="Actie A", multiplier_percent=150)
    await funded_campaign(client, world, 1000, name="Actie B", multiplier_percent=None, fixed_points=7)
    qr = await wallet_qr(sessionmaker, world, settings)
    body = (await http_earn(client, world, qr.qr_text, 1999)).json()  # floor(59.97) = 59, capped to 30
    assert body["points"] == 30 and body["capped"] is True
    assert [(b["campaign_name"], b["points"]) for b in body["bonuses"]] == [("Actie A", 15), ("Actie B", 7)]
    assert body["bonus_points"] == 22
    # The daily cap limits the shop's points, not the municipality's bonus: the next earn is refused.
    refused = await http_earn(client, world, qr.qr_text, 1000)
    assert refused.status_code == 409
    assert (await wallet_balance(sessionmaker, world, world.an_wallet.id)).balance == 52


async def test_budget_exhaustion_pays_the_rest_then_stops_the_campaign(client, world, sessionmaker, settings):
    campaign = await funded_campaign(client, world, 30)
    qr = await wallet_qr(sessionmaker, world, settings)
    bonuses = []
    for _ in range(3):
        response = await http_earn(client, world, qr.qr_text, 2000)
        assert response.status_code == 201  # the earn never fails for a dry campaign
        bonuses.append(response.json()["bonus_points"])
    assert bonuses == [20, 10, 0]
    detail = await campaign_detail(client, world, campaign["id"])
    assert detail["status"] == "exhausted" and detail["budget"]["left"] == 0
    # Funding again brings it back.
    await fund_campaign(client, world, campaign["id"], 100)
    assert (await campaign_detail(client, world, campaign["id"]))["status"] == "running"
    assert (await http_earn(client, world, qr.qr_text, 2000)).json()["bonus_points"] == 20
    await check_ledger(sessionmaker, world.tenant.id)


async def test_unfunded_campaign_gives_nothing_and_the_earn_succeeds(client, world, sessionmaker, settings):
    await create_campaign(client, world)
    qr = await wallet_qr(sessionmaker, world, settings)
    response = await http_earn(client, world, qr.qr_text, 1000)
    assert response.status_code == 201 and response.json()["bonus_points"] == 0


# Saturday 5 December 2026, 10:00 in Brussels (09:00 UTC); the next day is a Sunday.
SATURDAY = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
SUNDAY = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


async def _bonus_at(sessionmaker, world, settings, *, now, merchant=None, cents=1000):
    from backend.campaigns.bonus import bonuses_for_earn
    from backend.core.db import transaction

    # Past and future tokens: issue one valid at that moment.
    qr = await wallet_qr(sessionmaker, world, settings, now=now)
    transfer = await earn_at(sessionmaker, world, settings, scan=qr.qr_text, purchase_cents=cents, now=now, merchant=merchant)
    async with transaction(sessionmaker) as session:
        return sum(b.points for b in await bonuses_for_earn(session, tenant_id=world.tenant.id, earn_transfer_id=transfer.id))


async def test_window_weekdays_categories_villages_and_merchants(client, world, sessionmaker, settings):
    from backend.core.db import transaction
    from tests.fixtures.factories import fund as fund_float

    async with transaction(sessionmaker) as session:
        await fund_float(session, tenant=world.tenant, float_account=world.shop_float, amount=10_000)
    # Saturdays in December, Brussels time (naive = Brussels), bakeries only.
    await funded_campaign(
        client, world, 1000, name="Zaterdag", starts_at="2026-12-01T00:00:00", ends_at="2027-01-01T00:00:00",
        weekdays=[6], categories=["bakery"],
    )
    assert await _bonus_at(sessionmaker, world, settings, now=SATURDAY) == 10
    assert await _bonus_at(sessionmaker, world, settings, now=SUNDAY) == 0
    assert await _bonus_at(sessionmaker, world, settings, now=SATURDAY, merchant=world.shop) == 0  # books
    assert await _bonus_at(sessionmaker, world, settings, now=datetime(2026, 11, 28, 9, tzinfo=UTC)) == 0  # before
    # 1 Jan 00:30 Brussels is 31 Dec 23:30 UTC: outside the window, which is Brussels time.
    assert await _bonus_at(sessionmaker, world, settings, now=datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == 0


async def test_villages_and_listed_merchants(client, world, sessionmaker, settings):
    from backend.core.db import transaction
    from tests.fixtures.factories import fund as fund_float

    async with transaction(sessionmaker) as session:
        await fund_float(session, tenant=world.tenant, float_account=world.shop_float, amount=10_000)
    await funded_campaign(client, world, 1000, name="Meerdonk", villages=["meerdonk"], multiplier_percent=300)
    await funded_campaign(client, world, 1000, name="Bakker", merchant_ids=[world.bakery.id], multiplier_percent=None, fixed_points=5)
    assert await _bonus_at(sessionmaker, world, settings, now=SATURDAY, merchant=world.shop) == 20
    assert await _bonus_at(sessionmaker, world, settings, now=SATURDAY) == 5


async def test_discovery_bonus_only_on_the_first_earn_at_a_shop(client, world, sessionmaker, settings):
    await funded_campaign(client, world, 1000, name="Ontdek", multiplier_percent=None, fixed_points=100, first_purchase_only=True)
    qr = await wallet_qr(sessionmaker, world, settings)
    assert (await http_earn(client, world, qr.qr_text, 1000)).json()["bonus_points"] == 100
    assert (await http_earn(client, world, qr.qr_text, 1000)).json()["bonus_points"] == 0
    bert = await wallet_qr(sessionmaker, world, settings, shopper_id=world.bert.id)
    assert (await http_earn(client, world, bert.qr_text, 1000)).json()["bonus_points"] == 100


async def test_undo_returns_the_bonus_to_the_budget_and_refund_a_proportional_part(client, world, sessionmaker, settings):
    campaign = await funded_campaign(client, world, 1000, multiplier_percent=150)
    qr = await wallet_qr(sessionmaker, world, settings)
    first = (await http_earn(client, world, qr.qr_text, 2500)).json()  # 25 + 12
    assert first["bonus_points"] == 12
    undo = await client.post(f"{API}/till/earns/{first['transfer_id']}/undo", json={}, headers=keyed(world))
    assert undo.status_code == 201, undo.text
    assert (await wallet_balance(sessionmaker, world, world.an_wallet.id)).balance == 0
    budget = (await campaign_detail(client, world, campaign["id"]))["budget"]
    assert budget["bonus_paid"] == 12 and budget["bonus_reversed"] == 12 and budget["left"] == 1000
    second = (await http_earn(client, world, qr.qr_text, 2500)).json()
    refund = await client.post(
        f"{API}/till/earns/{second['transfer_id']}/refund", json={"refund_cents": 1000}, headers=keyed(world)
    )
    assert refund.status_code == 201, refund.text
    # 10 of 25 points back; of the 12 bonus floor(12 x 10 / 25) = 4 back to the budget.
    assert (await wallet_balance(sessionmaker, world, world.an_wallet.id)).balance == 37 - 10 - 4
    assert (await campaign_detail(client, world, campaign["id"]))["budget"]["left"] == 1000 - 12 + 4
    await check_ledger(sessionmaker, world.tenant.id)


async def test_claim_code_earn_gets_the_bonus_too(client, world, sessionmaker):
    from tests.fixtures.till import shopper_of

    await funded_campaign(client, world, 1000)
    created = await client.post(f"{API}/till/claims", json={"purchase_cents": 1500}, headers=keyed(world))
    assert created.status_code == 201, created.text
    response = await client.post(
        f"{API}/me/claims", json={"qr_text": created.json()["qr_text"]},
        headers=world.headers("shopper", **{"Idempotency-Key": new_key("claim")}),
    )
    assert response.status_code == 201, response.text
    assert response.json()["points"] == 15 and response.json()["bonus_points"] == 15
    history = await client.get(f"{API}/me/history", headers=world.headers("shopper"))
    assert history.status_code == 200, history.text
    kinds = {(i["kind"], i["campaign_name"]) for i in history.json()["items"]}
    assert ("bonus", "Dubbele punten") in kinds and ("earn", None) in kinds
    assert await shopper_of(sessionmaker, world)


async def test_stopped_campaign_pays_nothing(client, world, sessionmaker, settings):
    campaign = await funded_campaign(client, world, 1000)
    stop = await client.post(f"{API}/campaigns/{campaign['id']}/stop", headers=world.headers("admin"))
    assert stop.status_code == 200 and stop.json()["status"] == "stopped"
    qr = await wallet_qr(sessionmaker, world, settings)
    assert (await http_earn(client, world, qr.qr_text, 1000)).json()["bonus_points"] == 0
    start = await client.post(f"{API}/campaigns/{campaign['id']}/start", headers=world.headers("admin"))
    assert start.json()["status"] == "running"
    assert (await http_earn(client, world, qr.qr_text, 1000)).json()["bonus_points"] == 10
