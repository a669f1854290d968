"""The demo towns. The small town's planned history, checked without a database:
deterministic, and only plans what the ledger will accept; seeded, its campaigns (past,
running, planned) paid by the engine with a visible uplift, and its expiry, as the reports
show them (the CLI side is covered by tests/test_cli.py). The large town's campaigns,
generated at a small size: real campaign rows whose awards are what the campaign engine
would have paid (the rest of the large town is covered by tests/test_reports_rollup.py)."""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from backend.audit.models import AuditEvent
from backend.auth.models import User
from backend.campaigns.models import Campaign, CampaignAward
from backend.core.db import transaction
from backend.demo import bulk, bulk_campaigns
from backend.demo.history import (
    LOCAL_TZ,
    Earn,
    Expire,
    Fund,
    HistorySimulator,
    Payout,
    Redeem,
    Reversal,
    Topup,
)
from backend.demo.large import LargeSummary, generate_large_town
from backend.demo.logins import DEMO_LOGINS
from backend.demo.seed import DemoSummary, seed_town
from backend.demo.town import OUTLYING_VILLAGES, small_town
from backend.demo.town_campaigns import plan_town_campaigns
from backend.expiry.service import run_expiry
from backend.ledger.chain import seal_all
from backend.ledger.models import Account, AccountType, Transfer
from backend.ledger.verify import verify_tenant
from backend.merchants.models import FUN_SHOPPING, Merchant
from backend.reports.rollup import check
from backend.reports.service import baseline_of
from backend.tenants.models import Tenant
from tests.conftest import make_settings

START = date(2026, 10, 12)  # spans the end of summer time (25 October)
EXPIRY_DAYS = 730  # the scheme's default: the pilot's points lapse in the history


def plan(seed: int = 1, start: date = START) -> tuple[HistorySimulator, list]:
    simulator = HistorySimulator(
        small_town(), seed=seed, start=start, days=42, points_per_euro=1, point_value_cents=1, key_prefix=f"t{seed}",
        campaigns=plan_town_campaigns(start, 42, villages=OUTLYING_VILLAGES), expiry_days=EXPIRY_DAYS,
    )
    events = simulator.pilot() + [event for _day, day_events in simulator.history() for event in day_events]
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
    budgets = [0] * len(simulator.campaigns.campaigns)
    by_key = {}
    weekdays: Counter[int] = Counter()
    for event in events:
        if isinstance(event, Topup):
            floats[event.merchant] += event.points
        elif isinstance(event, Fund):
            budgets[event.campaign] += event.points
        elif isinstance(event, Expire):
            for shopper, lapsed in event.lapsed:
                wallets[shopper] -= sum(points for _day, points in lapsed)
        elif isinstance(event, Earn):
            local = event.at.astimezone(LOCAL_TZ)
            assert local.weekday() != 6, "no Sunday trading"
            assert town.merchants[event.merchant].closed_weekday != local.weekday()
            assert event.points == event.purchase_cents // 100
            floats[event.merchant] -= event.points
            wallets[event.shopper] += event.points + sum(points for _c, points in event.bonuses)
            for campaign, points in event.bonuses:
                budgets[campaign] -= points
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
        assert min(floats) >= 0 and min(wallets) >= 0 and min(redeemed) >= 0 and min(budgets) >= 0, event
        by_key[event.key] = event
    assert weekdays.most_common(1)[0][0] == 5, "Saturday is the busiest day"
    kinds = Counter(type(event).__name__ for event in events)
    assert kinds["Payout"] == 1 and kinds["Reversal"] == 2
    assert sum(1 for e in events if isinstance(e, Redeem) and e.captured is None) == 1
    assert {e.merchant for e in events if isinstance(e, Topup)} == set(range(len(town.merchants)))
    # Every timestamp is aware UTC, in the planned weeks or (a few pilot purchases at the
    # pilot shops) so long before that their points lapse in them.
    pilot = range(EXPIRY_DAYS - 33, EXPIRY_DAYS - 13 + 1)
    for event in events:
        if hasattr(event, "at"):
            assert event.at.utcoffset() == timedelta(0)
            day = event.at.astimezone(LOCAL_TZ).date()
            if day < START:
                assert (START - day).days in pilot and isinstance(event, Topup | Earn), event
                assert town.merchants[event.merchant].in_pilot, event
            else:
                assert day < START + timedelta(days=42), event


def _uplift_pct(events: list, campaign: int) -> float:
    """The uplift ``reports.service.uplift`` shows, from the plan: local spend per day from the
    campaign's first to its last bonus day against as many whole weeks before."""
    spend: Counter[date] = Counter()
    days = []
    for event in events:
        if isinstance(event, Earn):
            spend[event.at.astimezone(LOCAL_TZ).date()] += event.purchase_cents
            if any(index == campaign for index, _points in event.bonuses):
                days.append(event.at.astimezone(LOCAL_TZ).date())

    def per_day(first: date, last: date) -> int:
        span = (last - first).days + 1
        return sum(spend[first + timedelta(days=n)] for n in range(span)) // span

    base = per_day(*baseline_of(min(days), max(days)))
    return 100 * (per_day(min(days), max(days)) / base - 1)


def test_on_every_weekday_the_plan_shows_its_campaigns_and_some_expiry() -> None:
    # Whichever day the demo is seeded (the windows follow the weekday of "today").
    for offset in range(8):
        start = START + timedelta(days=offset)
        today = start + timedelta(days=42)
        simulator, events = plan(start=start)
        town, campaigns = simulator.spec, simulator.campaigns.campaigns
        assert [c.name for c in campaigns] == ["Sjop lokaal", "Sjop in je dorp", "Zaterdagbonus"]
        now = datetime.combine(today, datetime.min.time(), tzinfo=LOCAL_TZ) + timedelta(hours=12)
        sjop, running, planned = (c.rules for c in campaigns)
        assert sjop.starts_at >= datetime.combine(start + timedelta(days=14), datetime.min.time(), tzinfo=LOCAL_TZ)
        assert sjop.ends_at < running.starts_at < now < running.ends_at and now < planned.starts_at
        assert {c.funded_at.astimezone(LOCAL_TZ).date() for c in campaigns} < {start + timedelta(days=n) for n in range(42)}
        earns = [e for e in events if isinstance(e, Earn)]
        for earn in earns:
            shop = town.merchants[earn.merchant]
            expected = []
            if sjop.starts_at <= earn.at < sjop.ends_at and shop.category in FUN_SHOPPING:
                expected.append((0, earn.points))  # double points
            if running.starts_at <= earn.at and shop.village in OUTLYING_VILLAGES:
                expected.append((1, earn.points // 2))  # half as many again, rounded down
            assert list(earn.bonuses) == [b for b in expected if b[1] > 0], earn
        assert sum(1 for e in earns if e.bonuses and e.bonuses[0][0] == 0) >= 10
        assert _uplift_pct(events, 0) >= 15, start
        # At least five shoppers (the reports' k) lose pilot points in the last 28 days.
        lapsed: Counter[int] = Counter()
        for event in events:
            if isinstance(event, Expire) and event.at.astimezone(LOCAL_TZ).date() >= today - timedelta(days=28):
                for shopper, days in event.lapsed:
                    assert all(start <= day < today for day, _points in days)
                    lapsed[shopper] += sum(points for _day, points in days)
        assert len(lapsed) >= 5 and all(town.shoppers[s].in_pilot for s in lapsed), start


# --- the small town, seeded as ``kernpunt demo`` does --------------------------------------------

API = "/api/v1"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def small_demo(sessionmaker, database_url: str) -> DemoSummary:
    # Today's town (the campaigns' statuses are the clock's), in a tenant of its own.
    spec = dataclasses.replace(small_town(), slug=f"demo-{uuid.uuid4().hex[:8]}")
    async with transaction(sessionmaker) as session:
        summary = await seed_town(session, spec, seed=1, settings=make_settings(database_url))
    async with transaction(sessionmaker) as session:
        await seal_all(session, tenant_id=summary.tenant_id, full_scan=True)
    return summary


async def _admin_headers(client: httpx.AsyncClient, slug: str) -> dict[str, str]:
    admin = next(login for login in DEMO_LOGINS if login.role == "municipality_admin")
    signed_in = await client.post(f"{API}/auth/login", json={"tenant": slug, "email": admin.email,
                                                             "password": admin.password})
    assert signed_in.status_code == 200, signed_in.text
    return {"Authorization": f"Bearer {signed_in.json()['access_token']}"}


async def test_the_small_town_has_an_ended_a_running_and_a_planned_campaign(
    sessionmaker, client: httpx.AsyncClient, small_demo: DemoSummary
) -> None:
    await _check_town(sessionmaker, small_demo.tenant_id, small_demo.transfers)
    campaigns, awards, transfers = await _check_awards(sessionmaker, small_demo.tenant_id)
    headers = await _admin_headers(client, small_demo.slug)
    listed = await client.get(f"{API}/campaigns", headers=headers)
    assert listed.status_code == 200, listed.text
    assert {c["name"]: c["status"] for c in listed.json()["items"]} == {
        "Sjop lokaal": "ended", "Sjop in je dorp": "running", "Zaterdagbonus": "scheduled"}
    paid = Counter(a.campaign_id for a in awards)
    for campaign in campaigns:
        detail = (await client.get(f"{API}/campaigns/{campaign.id}", headers=headers)).json()
        assert detail["budget"]["funded"] > detail["budget"]["bonus_paid"] == sum(
            a.points for a in awards if a.campaign_id == campaign.id)
        assert detail["awards"] == paid[campaign.id] and detail["budget"]["bonus_kept"] == 0
    sjop, _running, planned = campaigns
    assert paid[sjop.id] >= 10 and paid[planned.id] == 0
    # Funded through the service, each budget once, when the audit trail says so.
    async with sessionmaker() as session:
        audit = (await session.execute(select(AuditEvent.entity_id, AuditEvent.action, AuditEvent.created_at).where(
            AuditEvent.tenant_id == small_demo.tenant_id, AuditEvent.entity_type == "campaign"))).all()
    fundings = {t.credit_account_id: t for t in transfers if t.kind == "budget"}
    for campaign in campaigns:
        actions = {action: at for entity, action, at in audit if entity == str(campaign.id)}
        assert actions == {"campaign.create": campaign.created_at,
                           "campaign.fund": fundings[campaign.budget_account_id].created_at}


async def test_the_small_towns_past_campaign_shows_its_uplift(
    client: httpx.AsyncClient, small_demo: DemoSummary
) -> None:
    headers = await _admin_headers(client, small_demo.slug)
    found = (await client.get(f"{API}/reports/campaigns", headers=headers)).json()
    sjop = next(c for c in found if c["name"].endswith("Sjop lokaal"))
    answer = await client.get(f"{API}/reports/campaigns/{sjop['account_id']}/uplift", headers=headers)
    assert answer.status_code == 200, answer.text
    rows = {row["period"]: row for row in answer.json()["rows"]}
    assert rows["campaign"]["from"] == sjop["start"] and rows["campaign"]["to"] == sjop["end"]
    assert rows["baseline"]["to"] < sjop["start"] and date.fromisoformat(rows["baseline"]["from"]) >= small_demo.history_start
    assert not rows["campaign"]["suppressed"] and not rows["baseline"]["suppressed"]
    assert rows["campaign"]["spend_per_day_cents"] > rows["baseline"]["spend_per_day_cents"]
    assert answer.json()["extra"]["uplift_pct"] >= 15


async def test_the_small_towns_pilot_points_lapse_through_the_expiry_job(
    sessionmaker, client: httpx.AsyncClient, small_demo: DemoSummary
) -> None:
    headers = await _admin_headers(client, small_demo.slug)
    async with sessionmaker() as session:
        expired = list(await session.scalars(select(Transfer).where(
            Transfer.tenant_id == small_demo.tenant_id, Transfer.kind == "expiry")))
        accounts = {a.id: a for a in await session.scalars(select(Account).where(
            Account.tenant_id == small_demo.tenant_id))}
    # As the job posts them: per wallet and lapse day, to breakage, on a night in the history.
    wallets = {t.debit_account_id for t in expired}
    assert len(wallets) >= 5 and all(accounts[w].type == AccountType.SHOPPER_WALLET for w in wallets)
    for transfer in expired:
        assert accounts[transfer.credit_account_id].type == AccountType.BREAKAGE
        assert transfer.idempotency_key.startswith(f"expiry:{transfer.debit_account_id}:{transfer.meta['expired_on']}")
        assert small_demo.history_start <= transfer.created_at.astimezone(LOCAL_TZ).date() <= small_demo.history_end
    # The dashboard shows them, in its default 28 days and over the whole history.
    history = {"from": small_demo.history_start.isoformat(), "to": small_demo.history_end.isoformat()}
    for params in ({}, history):
        summary = (await client.get(f"{API}/reports/summary", params=params, headers=headers)).json()
        figure = next(row for row in summary["rows"] if row["figure"] == "points_expired")
        assert figure["value"] == sum(t.amount for t in expired) > 0, params
    # Nothing was left behind for the real job to expire now.
    report = await run_expiry(sessionmaker, now=datetime.now(UTC), tenant_ids=[small_demo.tenant_id], notices=False)
    assert report.points == 0


# --- the large town's campaigns ------------------------------------------------------------------
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


def _covers(campaign: Campaign, shop: Merchant, at: datetime) -> bool:
    return (campaign.starts_at <= at < campaign.ends_at
            and (not campaign.categories or shop.category in campaign.categories)
            and (not campaign.villages or shop.village in campaign.villages)
            and (not campaign.weekdays or at.astimezone(LOCAL_TZ).isoweekday() in campaign.weekdays))


def _engine_replay(campaign: Campaign, transfers: list[Transfer], accounts: dict[int, Account],
                   shops: dict[int, Merchant]) -> tuple[dict[int, tuple[int, int]], datetime | None]:
    """What ``apply_campaign_bonuses`` pays for each earn, replayed over the ledger in id order:
    floor(earned x (M - 100) / 100) or the fixed points, cut to the budget left; nothing once
    exhausted until points come back. Returns {earn id: (points, requested)} and the final
    ``exhausted_at``."""
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
        if _covers(campaign, shops[accounts[transfer.debit_account_id].merchant_id], transfer.created_at):
            wanted = (campaign.fixed_points if campaign.multiplier_percent is None
                      else transfer.amount * (campaign.multiplier_percent - 100) // 100)
            paid = min(wanted, left)
            if wanted > 0 and paid <= 0:
                exhausted = transfer.created_at
            elif wanted > 0:
                expected[transfer.id] = (paid, wanted)
                left -= paid
                if paid < wanted:
                    exhausted = transfer.created_at
    return expected, exhausted


async def _check_town(sessionmaker, tenant_id: int, transfers: int) -> None:
    """``kernpunt ledger verify`` and ``kernpunt reports check`` pass on the town."""
    async with sessionmaker() as session:
        report = await verify_tenant(session, tenant_id=tenant_id)
        assert report.ok, report.problems
        assert report.sealed == report.transfers == transfers
        rollup = await check(session, tenant_id=tenant_id)
        assert rollup.ok, rollup.differences


async def _check_awards(sessionmaker, tenant_id: int) -> tuple[list[Campaign], list[CampaignAward], list[Transfer]]:
    """Every campaign's awards are its bonus transfers, paid as the engine would have."""
    campaigns, awards, transfers, accounts = await _town_rows(sessionmaker, tenant_id)
    async with sessionmaker() as session:
        shops = {m.id: m for m in await session.scalars(select(Merchant).where(Merchant.tenant_id == tenant_id))}
    by_budget = {c.budget_account_id: c for c in campaigns}
    bonuses = {t.id: t for t in transfers if t.kind == "bonus"}
    by_id = {t.id: t for t in transfers}
    # One award per bonus transfer, and per budget account they add up to its bonus transfers.
    assert sorted(a.bonus_transfer_id for a in awards) == sorted(bonuses)
    for award in awards:
        bonus = bonuses[award.bonus_transfer_id]
        campaign = by_budget[bonus.debit_account_id]
        assert (award.campaign_id, award.points) == (campaign.id, bonus.amount)
        assert accounts[bonus.credit_account_id].shopper_id == award.shopper_id
        assert bonus.meta["earn_transfer_id"] == award.earn_transfer_id and bonus.meta["merchant_id"] == award.merchant_id
        assert bonus.meta["requested_points"] == award.requested_points
        # Posted with the earn, under the earn's key, as the till does.
        earn = by_id[award.earn_transfer_id]
        assert earn.kind == "earn" and earn.credit_account_id == bonus.credit_account_id
        assert bonus.created_at == award.created_at == earn.created_at
        assert bonus.idempotency_key == f"{earn.idempotency_key}:bonus:{campaign.id}"
    per_budget: Counter[int] = Counter()
    for bonus in bonuses.values():
        per_budget[bonus.debit_account_id] += bonus.amount
    paid: Counter[int] = Counter()
    for award in awards:
        paid[by_id[award.bonus_transfer_id].debit_account_id] += award.points
    assert per_budget == paid
    for campaign in campaigns:
        expected, exhausted = _engine_replay(campaign, transfers, accounts, shops)
        assert {a.earn_transfer_id: (a.points, a.requested_points) for a in awards
                if a.campaign_id == campaign.id} == expected, campaign.name
        assert campaign.exhausted_at == exhausted
    return campaigns, awards, transfers


async def _check_against_the_engine(sessionmaker, town: LargeSummary) -> tuple[Campaign, list[CampaignAward],
                                                                                 list[Transfer]]:
    await _check_town(sessionmaker, town.tenant_id, town.transfers)
    campaigns, awards, transfers = await _check_awards(sessionmaker, town.tenant_id)
    assert [c.name for c in campaigns] == ["Kerstshopping 2025"]
    return campaigns[0], awards, transfers


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
    headers = await _admin_headers(client, await _slug(sessionmaker, town.tenant_id))
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
