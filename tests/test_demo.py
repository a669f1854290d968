"""The demo towns. The small town's planned history, checked without a database:
deterministic, and only plans what the ledger will accept (its database side is covered by
tests/test_cli.py). The large town's campaigns, generated at a small size: real campaign
rows whose awards are what the campaign engine would have paid (the rest of the large town
is covered by tests/test_reports_rollup.py)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from backend.audit.models import AuditEvent
from backend.auth.models import User
from backend.campaigns.models import Campaign, CampaignAward
from backend.demo import bulk, bulk_campaigns
from backend.demo.history import LOCAL_TZ, Earn, HistorySimulator, Payout, Redeem, Reversal, Topup
from backend.demo.large import LargeSummary, generate_large_town
from backend.demo.logins import DEMO_LOGINS
from backend.demo.town import small_town
from backend.ledger.models import Account, AccountType, Transfer
from backend.ledger.verify import verify_tenant
from backend.merchants.models import FUN_SHOPPING, Merchant
from backend.reports.rollup import check
from backend.tenants.models import Tenant
from tests.conftest import make_settings

START = date(2026, 10, 12)  # spans the end of summer time (25 October)


def plan(seed: int = 1) -> tuple[HistorySimulator, list]:
    simulator = HistorySimulator(
        small_town(), seed=seed, start=START, days=42, points_per_euro=1, point_value_cents=1, key_prefix=f"t{seed}"
    )
    events = [event for _day, day_events in simulator.history() for event in day_events]
    return simulator, events + simulator.closing()


def test_the_same_seed_plans_the_same_history() -> None:
    assert plan(1)[1] == plan(1)[1]
    assert plan(1)[1] != plan(2)[1]


def test_small_town_matches_the_demo_logins() -> None:
    town = small_town()
    assert 10 <= len(town.merchants) <= 14 and len(town.shoppers) == 40
    assert {m.category for m in town.merchants} == set(town.profiles)
    assert [m.name for m in town.merchants if m.has_demo_logins] == ["Bakkerij De Wilde"]
    shopper_logins = {login.email for login in DEMO_LOGINS if login.role == "shopper"}
    assert {s.login_email for s in town.shoppers if s.login_email} == shopper_logins
    assert len({m.name for m in town.merchants}) == len(town.merchants)


def test_the_plan_never_overdraws_and_respects_the_week() -> None:
    simulator, events = plan()
    town = simulator.spec
    floats = [0] * len(town.merchants)
    wallets = [0] * len(town.shoppers)
    redeemed = [0] * len(town.merchants)
    by_key = {}
    weekdays: Counter[int] = Counter()
    for event in events:
        if isinstance(event, Topup):
            floats[event.merchant] += event.points
        elif isinstance(event, Earn):
            local = event.at.astimezone(LOCAL_TZ)
            assert local.weekday() != 6, "no Sunday trading"
            assert town.merchants[event.merchant].closed_weekday != local.weekday()
            assert event.points == event.purchase_cents // 100
            floats[event.merchant] -= event.points
            wallets[event.shopper] += event.points
            weekdays[local.weekday()] += 1
        elif isinstance(event, Redeem):
            assert event.captured is None or 0 < event.captured <= event.held
            assert event.held <= wallets[event.shopper]
            wallets[event.shopper] -= event.captured or 0
            redeemed[event.merchant] += event.captured or 0
        elif isinstance(event, Payout):
            redeemed[event.merchant] -= event.points
        elif isinstance(event, Reversal):
            target = by_key[event.target_key]
            amount = event.amount or (target.points if isinstance(target, Earn) else target.captured)
            if isinstance(target, Earn):
                wallets[target.shopper] -= amount
                floats[target.merchant] += amount
            else:
                redeemed[target.merchant] -= amount
                wallets[target.shopper] += amount
        assert min(floats) >= 0 and min(wallets) >= 0 and min(redeemed) >= 0, event
        by_key[event.key] = event
    assert weekdays.most_common(1)[0][0] == 5, "Saturday is the busiest day"
    kinds = Counter(type(event).__name__ for event in events)
    assert kinds["Payout"] == 1 and kinds["Reversal"] == 2
    assert sum(1 for e in events if isinstance(e, Redeem) and e.captured is None) == 1
    assert {e.merchant for e in events if isinstance(e, Topup)} == set(range(len(town.merchants)))
    # Every timestamp is aware UTC, in the planned weeks.
    for event in events:
        if hasattr(event, "at"):
            assert event.at.utcoffset() == timedelta(0)
            assert START <= event.at.astimezone(LOCAL_TZ).date() < START + timedelta(days=42)


# --- the large town's campaigns ------------------------------------------------------------------

API = "/api/v1"
# Two months up to 10 January 2026: the history holds Kerstshopping 2025 (1 to 24 December).
KERST_STARTS = datetime(2025, 11, 30, 23, tzinfo=UTC)  # midnight in Brussels
KERST_ENDS = datetime(2025, 12, 24, 23, tzinfo=UTC)


async def _large_town(sessionmaker, database_url: str) -> LargeSummary:
    return await generate_large_town(sessionmaker, shoppers=60, merchants=12, months=2, seed=3,
                                      settings=make_settings(database_url), until=date(2026, 1, 10), stream=None,
                                      slug=f"groot-{uuid.uuid4().hex[:8]}")


async def _town_rows(sessionmaker, tenant_id: int) -> tuple[list[Campaign], list[CampaignAward], list[Transfer],
                                                           dict[int, Account]]:
    async with sessionmaker() as session:
        campaigns = list(await session.scalars(select(Campaign).where(Campaign.tenant_id == tenant_id)
                                               .order_by(Campaign.id)))
        awards = list(await session.scalars(select(CampaignAward).where(CampaignAward.tenant_id == tenant_id)
                                            .order_by(CampaignAward.id)))
        transfers = list(await session.scalars(select(Transfer).where(Transfer.tenant_id == tenant_id)
                                               .order_by(Transfer.id)))
        accounts = {a.id: a for a in await session.scalars(select(Account).where(Account.tenant_id == tenant_id))}
    return campaigns, awards, transfers, accounts


def _engine_replay(campaign: Campaign, transfers: list[Transfer], accounts: dict[int, Account],
                   categories: dict[int, str]) -> tuple[dict[int, tuple[int, int]], datetime | None]:
    """What ``apply_campaign_bonuses`` pays for each earn, replayed over the ledger in id order:
    floor(earned x (M - 100) / 100), cut to the budget left; nothing once exhausted until
    points come back. Returns {earn id: (points, requested)} and the final ``exhausted_at``."""
    budget, left, exhausted = campaign.budget_account_id, 0, None
    bonus_ids = {t.id for t in transfers if t.kind == "bonus" and t.debit_account_id == budget}
    expected: dict[int, tuple[int, int]] = {}
    for transfer in transfers:
        funds = transfer.kind == "budget" and transfer.credit_account_id == budget
        if funds or (transfer.kind == "reversal" and transfer.reverses_transfer_id in bonus_ids):
            left, exhausted = left + transfer.amount, None  # funding or a bonus given back: it pays again
            continue
        if transfer.kind != "earn" or exhausted is not None:
            continue
        shop = accounts[transfer.debit_account_id].merchant_id
        if categories[shop] in campaign.categories and campaign.starts_at <= transfer.created_at < campaign.ends_at:
            wanted = transfer.amount * (campaign.multiplier_percent - 100) // 100
            paid = min(wanted, left)
            if wanted > 0 and paid <= 0:
                exhausted = transfer.created_at
            elif wanted > 0:
                expected[transfer.id] = (paid, wanted)
                left -= paid
                if paid < wanted:
                    exhausted = transfer.created_at
    return expected, exhausted


async def _check_against_the_engine(sessionmaker, town: LargeSummary) -> tuple[Campaign, list[CampaignAward],
                                                                                 list[Transfer]]:
    campaigns, awards, transfers, accounts = await _town_rows(sessionmaker, town.tenant_id)
    async with sessionmaker() as session:
        categories = dict((await session.execute(select(Merchant.id, Merchant.category)
                                                 .where(Merchant.tenant_id == town.tenant_id))).all())
        report = await verify_tenant(session, tenant_id=town.tenant_id)
        assert report.ok, report.problems
        assert report.sealed == report.transfers == town.transfers
        rollup = await check(session, tenant_id=town.tenant_id)
        assert rollup.ok, rollup.differences
    assert [c.name for c in campaigns] == ["Kerstshopping 2025"]
    kerst = campaigns[0]
    bonuses = {t.id: t for t in transfers if t.kind == "bonus"}
    by_id = {t.id: t for t in transfers}
    # One award per bonus transfer, and per budget account they add up to its bonus transfers.
    assert sorted(a.bonus_transfer_id for a in awards) == sorted(bonuses)
    for award in awards:
        bonus = bonuses[award.bonus_transfer_id]
        assert (award.campaign_id, award.points) == (kerst.id, bonus.amount)
        assert bonus.debit_account_id == kerst.budget_account_id
        assert accounts[bonus.credit_account_id].shopper_id == award.shopper_id
        assert bonus.meta["earn_transfer_id"] == award.earn_transfer_id and bonus.meta["merchant_id"] == award.merchant_id
        assert bonus.meta["requested_points"] == award.requested_points
        # Posted with the earn, under the earn's key, as the till does.
        earn = by_id[award.earn_transfer_id]
        assert earn.kind == "earn" and earn.credit_account_id == bonus.credit_account_id
        assert bonus.created_at == award.created_at == earn.created_at
        assert bonus.idempotency_key == f"{earn.idempotency_key}:bonus:{kerst.id}"
    per_budget: Counter[int] = Counter()
    for bonus in bonuses.values():
        per_budget[bonus.debit_account_id] += bonus.amount
    assert per_budget == {kerst.budget_account_id: sum(a.points for a in awards)}
    expected, exhausted = _engine_replay(kerst, transfers, accounts, categories)
    assert {a.earn_transfer_id: (a.points, a.requested_points) for a in awards} == expected
    assert kerst.exhausted_at == exhausted
    return kerst, awards, transfers


async def test_large_town_campaigns_are_campaign_rows_paid_like_the_engine(
    sessionmaker, database_url: str, client: httpx.AsyncClient
) -> None:
    town = await _large_town(sessionmaker, database_url)
    kerst, awards, transfers = await _check_against_the_engine(sessionmaker, town)
    async with sessionmaker() as session:
        admin = await session.scalar(select(User.id).where(User.tenant_id == town.tenant_id,
                                                           User.role == "municipality_admin"))
        budget = await session.get(Account, kerst.budget_account_id)
        audit = list(await session.scalars(select(AuditEvent.action).where(
            AuditEvent.tenant_id == town.tenant_id, AuditEvent.entity_type == "campaign").order_by(AuditEvent.id)))
    assert (kerst.trigger, kerst.multiplier_percent, kerst.fixed_points) == ("earn", 200, None)
    assert kerst.categories == sorted(FUN_SHOPPING) and (kerst.weekdays, kerst.villages, kerst.merchant_ids) == ([], [], [])
    assert (kerst.starts_at, kerst.ends_at) == (KERST_STARTS, KERST_ENDS) and kerst.description
    assert kerst.created_by_user_id == admin and kerst.active and kerst.exhausted_at is None
    assert budget.type == AccountType.CAMPAIGN_BUDGET and budget.code == f"campaign:{kerst.id}:budget"
    assert audit == ["campaign.create", "campaign.fund"]
    assert len(awards) >= 5 and all(a.points == a.requested_points for a in awards)
    funded = sum(t.amount for t in transfers if t.kind == "budget")
    assert funded == 40 * 60 * 24  # 40 points per shopper and day: it never runs dry

    # What the municipality's campaign screen shows: it lists GET /campaigns and opens the detail.
    admin_login = next(login for login in DEMO_LOGINS if login.role == "municipality_admin")
    signed_in = await client.post(f"{API}/auth/login", json={
        "tenant": (await _slug(sessionmaker, town.tenant_id)), "email": admin_login.email,
        "password": admin_login.password})
    assert signed_in.status_code == 200, signed_in.text
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    listed = await client.get(f"{API}/campaigns", headers=headers)
    assert listed.status_code == 200, listed.text
    assert [(c["id"], c["name"], c["status"]) for c in listed.json()["items"]] == [(kerst.id, "Kerstshopping 2025",
                                                                                   "ended")]
    detail = (await client.get(f"{API}/campaigns/{kerst.id}", headers=headers)).json()
    paid = sum(a.points for a in awards)
    reversed_points = detail["budget"]["bonus_reversed"]
    assert detail["awards"] == len(awards) and detail["budget"]["funded"] == funded
    assert detail["budget"]["bonus_paid"] == paid and detail["budget"]["left"] == funded - paid + reversed_points
    # The screen itself is a shell whose script fills its table from that same list.
    page = await client.get("/municipality/campaigns")
    assert page.status_code == 200 and 'data-testid="camp-table"' in page.text


async def _slug(sessionmaker, tenant_id: int) -> str:
    async with sessionmaker() as session:
        return (await session.get(Tenant, tenant_id)).slug


async def test_a_large_town_campaign_that_runs_dry_stops_like_the_engine(
    sessionmaker, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A budget that runs out halfway, and many undos that give bonus points back meanwhile.
    monkeypatch.setattr(bulk_campaigns, "campaign_budget", lambda campaign, *, shoppers: 400)
    monkeypatch.setattr(bulk, "UNDO_CHANCE", 0.5)
    town = await _large_town(sessionmaker, database_url)
    kerst, awards, transfers = await _check_against_the_engine(sessionmaker, town)
    funded = sum(t.amount for t in transfers if t.kind == "budget")
    assert funded == 400
    bonus_ids = {a.bonus_transfer_id for a in awards}
    given_back = [t for t in transfers if t.kind == "reversal" and t.reverses_transfer_id in bonus_ids]
    assert given_back and all(t.meta["reversed_kind"] == "bonus" for t in given_back)
    assert any(a.points < a.requested_points for a in awards), "one bonus was cut to what was left"
    first_cut = min(a.bonus_transfer_id for a in awards if a.points < a.requested_points)
    refill = min(t.id for t in given_back if t.id > first_cut)
    assert any(a.bonus_transfer_id > refill for a in awards), "points given back let it pay again"
    assert sum(a.points for a in awards) - sum(t.amount for t in given_back) == funded
    assert kerst.exhausted_at is not None and kerst.starts_at <= kerst.exhausted_at < kerst.ends_at
