"""The small demo town's campaigns, planned as plain data, and the bonuses they pay.

Three campaigns, so the campaign screen shows every status and the dashboard an uplift:

- "Sjop lokaal", in the history: double points on fun shopping for two weeks. It also
  draws shoppers (``visit_boost``), so its two weeks sell more than the two before; as a
  small town's two weeks vary a lot by chance, its last Saturday brings a rush when
  needed, so the dashboard's uplift (``reports.service.uplift``) always shows it.
- "Sjop in je dorp", running today: half as many points again in two outlying villages.
- "Zaterdagbonus", planned: a fixed bonus on Saturdays, from a week or so ahead.

The simulator (``backend.demo.history``) pays bonuses in memory with the engine's own rules
(``backend.campaigns.rules``, on transient ``Campaign`` and ``Merchant`` objects); the
seeder then lets the real engine pay them and checks that both agree, because the plan's
wallet balances (what a shopper can later redeem) depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from backend.campaigns.models import Campaign
from backend.campaigns.rules import applies_to, bonus_points
from backend.merchants.models import FUN_SHOPPING, Merchant
from backend.reports.service import baseline_of

LOCAL_TZ = ZoneInfo("Europe/Brussels")
MONDAY = 0
SUNDAY = 6
# The first campaign needs two whole weeks of history before it: its uplift baseline.
BASELINE_DAYS = 14


@dataclass
class TownCampaign:
    """One campaign: what the admin fills in, when, and what the simulator tracks of it."""

    fields: dict[str, Any]  # ``create_campaign``'s fields
    created_at: datetime
    funded_at: datetime
    budget: int  # points the municipality puts in at ``funded_at``
    visit_boost: float = 1.0  # how much more shoppers visit the shops it covers
    min_uplift_pct: int = 0  # the uplift its last trading day's rush makes sure of (0: no rush)
    left: int = 0  # the budget as the engine would read it
    exhausted: bool = False  # the engine's ``exhausted_at``: no more bonuses until funded again
    rules: Campaign = field(init=False)

    def __post_init__(self) -> None:
        # A transient row, never added to a session: only for the engine's pure rules.
        self.rules = Campaign(tenant_id=0, **self.fields)

    @property
    def name(self) -> str:
        return str(self.fields["name"])

    def last_trading_day(self) -> date:
        """The last day of its window that is not a Sunday (``ends_at`` is exclusive)."""
        day = (self.rules.ends_at - timedelta(seconds=1)).astimezone(LOCAL_TZ).date()
        return day - timedelta(days=1) if day.weekday() == SUNDAY else day

    def covers(self, shop: Merchant, day: date) -> bool:
        """Whether an earn at ``shop`` at noon of ``day`` would qualify (budget aside)."""
        return applies_to(self.rules, shop, local_dt(day, 12.0))

    def fund(self) -> None:
        self.left += self.budget
        self.exhausted = False  # as ``fund_campaign`` clears ``exhausted_at``

    def pay(self, shop: Merchant, at: datetime, earned: int) -> int:
        """``apply_campaign_bonuses`` for this campaign: the points it pays on an earn."""
        if self.exhausted or not applies_to(self.rules, shop, at):
            return 0
        assert not self.rules.first_purchase_only, "the simulator does not track first visits"
        wanted = bonus_points(self.rules, earned)
        if wanted <= 0:
            return 0
        amount = min(wanted, self.left)
        if amount < wanted:
            self.exhausted = True  # cut short or nothing left: the engine marks it exhausted
        self.left -= max(amount, 0)
        return max(amount, 0)


def local_dt(day: date, hour: float) -> datetime:
    """Wall-clock ``hour`` in Brussels on ``day``, as aware UTC."""
    naive = datetime.combine(day, time(0)) + timedelta(seconds=int(hour * 3600))
    return naive.replace(tzinfo=LOCAL_TZ).astimezone(UTC)


def _next_monday(day: date) -> date:
    return day + timedelta(days=(MONDAY - day.weekday()) % 7)


def plan_town_campaigns(start: date, days: int, *, villages: tuple[str, ...]) -> list[TownCampaign]:
    """The campaigns of a history of ``days`` days from ``start`` (today is the day after it);
    ``villages`` are those "Sjop in je dorp" covers.

    Windows are whole Brussels days (``ends_at`` is exclusive). A history too short for two
    weeks of baseline, two of campaign and a few days after it gets only the planned one.
    """
    today = start + timedelta(days=days)
    found: list[TownCampaign] = []
    past = _next_monday(start + timedelta(days=BASELINE_DAYS))
    if past + timedelta(days=14) <= today:
        found.append(TownCampaign(
            fields={
                "name": "Sjop lokaal",
                "description": "Dubbele punten op fun shopping (mode, schoenen, boeken, cadeaus, sport), "
                               "twee weken lang.",
                "multiplier_percent": 200,
                "categories": sorted(str(c) for c in FUN_SHOPPING),
                "starts_at": local_dt(past, 0.0),
                "ends_at": local_dt(past + timedelta(days=14), 0.0),
            },
            created_at=local_dt(past - timedelta(days=14), 10.0),
            funded_at=local_dt(past, 6.0),
            budget=10_000,
            visit_boost=2.0,
            min_uplift_pct=15,
        ))
    # Started the day before yesterday: the history holds its first day or two (each bonus
    # costs the demo a few database statements; "make run" and the tests seed it often).
    running = today - timedelta(days=2)
    if running >= past + timedelta(days=14):  # after the past one, created in the history
        found.append(TownCampaign(
            fields={
                "name": "Sjop in je dorp",
                "description": f"De helft extra punten in de winkels en zaken van {' en '.join(villages)}.",
                "multiplier_percent": 150,
                "villages": list(villages),
                "starts_at": local_dt(running, 0.0),
                "ends_at": local_dt(running + timedelta(days=28), 0.0),
            },
            created_at=local_dt(running - timedelta(days=14), 10.0),
            funded_at=local_dt(running, 6.0),
            budget=5_000,
        ))
    planned = _next_monday(today + timedelta(days=7))
    found.append(TownCampaign(
        fields={
            "name": "Zaterdagbonus",
            "description": "25 extra punten bij elke aankoop op zaterdag, in alle winkels, vier weken lang.",
            "fixed_points": 25,
            "weekdays": [6],
            "starts_at": local_dt(planned, 0.0),
            "ends_at": local_dt(planned + timedelta(days=28), 0.0),
        },
        created_at=local_dt(today - timedelta(days=2), 10.0),
        funded_at=local_dt(today - timedelta(days=1), 9.0),
        budget=5_000,
    ))
    return found


class CampaignBook:
    """The campaigns during a simulated history, and the local spend the uplift report reads."""

    def __init__(self, campaigns: list[TownCampaign], shops: list[Merchant]) -> None:
        self.campaigns = campaigns
        self.shops = shops  # transient rows by simulator index: the rules read category and village
        self.spend: dict[date, int] = {}  # purchase cents of earns per Brussels day
        self.bonus_days: dict[int, tuple[date, date]] = {}  # campaign index -> first, last bonus day

    def funded_on(self, day: date) -> list[int]:
        found = [i for i, c in enumerate(self.campaigns) if c.funded_at.astimezone(LOCAL_TZ).date() == day]
        for index in found:
            self.campaigns[index].fund()
        return found

    def boosts(self, day: date) -> list[tuple[float, list[bool]]]:
        """Campaigns drawing shoppers today: (extra share of visits, which shops they cover)."""
        found = []
        for campaign in self.campaigns:
            if campaign.visit_boost > 1:
                covered = [campaign.covers(shop, day) for shop in self.shops]
                if any(covered):
                    found.append((campaign.visit_boost - 1, covered))
        return found

    def pay(self, merchant: int, at: datetime, points: int, purchase_cents: int) -> tuple[tuple[int, int], ...]:
        """The bonuses an earn gets, campaign by campaign in id order, as the engine pays them."""
        day = at.astimezone(LOCAL_TZ).date()
        self.spend[day] = self.spend.get(day, 0) + purchase_cents
        paid = []
        for index, campaign in enumerate(self.campaigns):
            bonus = campaign.pay(self.shops[merchant], at, points)
            if bonus > 0:
                paid.append((index, bonus))
                first, _last = self.bonus_days.get(index, (day, day))
                self.bonus_days[index] = (min(first, day), day)
        return tuple(paid)

    def rushing(self, day: date) -> list[int]:
        """Campaigns whose last trading day is ``day`` and whose uplift is still short."""
        return [i for i, c in enumerate(self.campaigns)
                if c.min_uplift_pct and c.last_trading_day() == day and self.short_of_uplift(i)]

    def short_of_uplift(self, index: int) -> bool:
        """Whether the campaign's uplift, computed as ``reports.service.uplift`` does, is below its minimum."""
        if index not in self.bonus_days:
            return True
        first, last = self.bonus_days[index]
        base_first, base_last = baseline_of(first, last)
        during = self._per_day(first, last)
        before = self._per_day(base_first, base_last)
        return not before or 100 * (during - before) < self.campaigns[index].min_uplift_pct * before

    def _per_day(self, first: date, last: date) -> int:
        days = (last - first).days + 1
        return sum(self.spend.get(first + timedelta(days=n), 0) for n in range(days)) // days
