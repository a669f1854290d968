"""Plan a town's shopping history as plain events, deterministically from a seed.

Planning is kept apart from posting (``backend.demo.seed``) so the same plan can be
posted in one transaction (the small demo town) or one transaction per day (a large
generated town), and so a plan can be checked without a database. The simulator keeps
every balance in memory and only plans what the ledger will accept: no earn beyond a
shop's float, no redemption beyond a wallet, no reversal of points already spent.

Campaigns (``backend.demo.town_campaigns``) pay their bonuses on earns and draw more
visits to the shops they cover; a pilot before the history (``backend.demo.pilot``)
leaves points that lapse in it, which the nightly expiry run moves to breakage.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from backend.demo import pilot
from backend.demo.town import TownSpec
from backend.demo.town_campaigns import CampaignBook, TownCampaign, local_dt
from backend.merchants.models import FUN_SHOPPING, RUN_SHOPPING, Merchant, MerchantCategory

LOCAL_TZ = ZoneInfo("Europe/Brussels")
SUNDAY = 6
# Relative busyness Monday..Saturday: Saturday is the town's shopping day.
DAY_WEIGHTS = (0.75, 0.85, 1.0, 0.95, 1.25, 1.9, 0.0)
_MEAN_TRADING_WEIGHT = sum(DAY_WEIGHTS) / 6

MIN_REDEEM_POINTS = 100
REDEEM_CHANCE = 0.3
PARTIAL_CAPTURE_CHANCE = 0.2
PAYOUT_AFTER_DAYS = 28
MAX_RUSH_VISITS = 200  # a campaign's last-day rush (``_rush``) never exceeds this
VOID_AFTER_DAYS = 14


@dataclass(frozen=True)
class Topup:
    key: str
    merchant: int
    points: int
    at: datetime


@dataclass(frozen=True)
class Earn:
    key: str
    shopper: int
    merchant: int
    purchase_cents: int
    points: int
    at: datetime
    bonuses: tuple[tuple[int, int], ...] = ()  # (campaign index, points) the engine pays on it


@dataclass(frozen=True)
class Redeem:
    """A till redemption: a hold at ``at``, captured (or voided when ``captured`` is None)."""

    key: str
    shopper: int
    merchant: int
    purchase_cents: int
    held: int
    captured: int | None
    at: datetime
    resolved_at: datetime


@dataclass(frozen=True)
class Payout:
    key: str
    merchant: int
    points: int
    at: datetime
    period_start: date
    period_end: date


@dataclass(frozen=True)
class Reversal:
    key: str
    target_key: str
    amount: int | None  # None reverses all of it
    reason: str


@dataclass(frozen=True)
class Fund:
    """The municipality puts a campaign's budget in (``fund_campaign``)."""

    key: str
    campaign: int
    points: int
    at: datetime


@dataclass(frozen=True)
class Expire:
    """One nightly expiry run that finds lapsed points: per shopper, (lapse day, points)."""

    key: str
    at: datetime
    lapsed: tuple[tuple[int, tuple[tuple[date, int], ...]], ...]


Event = Topup | Earn | Redeem | Payout | Reversal | Fund | Expire


@dataclass
class _Habits:
    visits_per_week: float
    shop_weights: list[float]


class HistorySimulator:
    """Walks day by day from ``start``; each day's events come out in posting order."""

    def __init__(
        self,
        spec: TownSpec,
        *,
        seed: int,
        start: date,
        days: int,
        points_per_euro: int,
        point_value_cents: int,
        key_prefix: str,
        campaigns: Sequence[TownCampaign] = (),
        expiry_days: int = 0,
    ) -> None:
        self.spec = spec
        self.rng = random.Random(seed)
        self.start = start
        self.days = days
        self.points_per_euro = points_per_euro
        self.point_value_cents = point_value_cents
        self.key_prefix = key_prefix
        self.wallets = [0] * len(spec.shoppers)
        self.floats = [0] * len(spec.merchants)
        self.redeemed = [0] * len(spec.merchants)
        self.last_earn_shop: list[int | None] = [None] * len(spec.shoppers)
        self.earns: list[Earn] = []
        self.captures: list[Redeem] = []
        self.voided = False
        self.paid_out = False
        self._counter = 0
        self.habits = [self._make_habits(i) for i in range(len(spec.shoppers))]
        # Transient shop rows: the campaign rules read a shop's category and village.
        shops = [Merchant(tenant_id=0, name=m.name, category=m.category, village=m.village, address=m.address)
                 for m in spec.merchants]
        self.campaigns = CampaignBook(list(campaigns), shops)
        self.expiry_days = expiry_days
        self.lots = pilot.WalletLots(len(spec.shoppers), expiry_days=expiry_days) if expiry_days > 0 else None

    # -- helpers -------------------------------------------------------------------------

    def _key(self, kind: str) -> str:
        self._counter += 1
        return f"{self.key_prefix}:{kind}:{self._counter:06d}"

    def _make_habits(self, shopper: int) -> _Habits:
        person = self.spec.shoppers[shopper]
        weights = []
        for merchant in self.spec.merchants:
            weight = self.spec.profiles[merchant.category].visit_weight * self.rng.uniform(0.3, 1.7)
            if merchant.village == person.village:
                weight *= 3  # people mostly shop in their own village
            if merchant.category not in RUN_SHOPPING and self.rng.random() < 0.4:
                weight = 0.0  # not everybody goes to every fashion shop or brasserie
            weights.append(weight)
        visits_per_week = self.rng.uniform(1.0, 4.0)  # drawn even when fixed: the others' habits stay put
        if person.visits_per_week is not None:
            visits_per_week = person.visits_per_week
        return _Habits(visits_per_week=visits_per_week, shop_weights=weights)

    def _local(self, day: date, hour: float) -> datetime:
        seconds = int(hour * 3600) + self.rng.randrange(60)
        # Wall-clock time in Brussels, whatever the DST offset of that day, stored as UTC.
        local = (datetime.combine(day, time(0)) + timedelta(seconds=seconds)).replace(tzinfo=LOCAL_TZ)
        return local.astimezone(UTC)

    def _purchase_cents(self, merchant: int) -> int:
        profile = self.spec.profiles[self.spec.merchants[merchant].category]
        cents = self.rng.triangular(profile.low_cents, profile.high_cents, profile.mode_cents)
        return max(100, int(cents) // 5 * 5)  # prices end in 0 or 5 cents

    def _visit_time(self, merchant: int, day: date) -> datetime:
        profile = self.spec.profiles[self.spec.merchants[merchant].category]
        busiest = profile.busiest
        if day.weekday() == 5 and self.spec.merchants[merchant].category != MerchantCategory.HORECA:
            busiest = min(max(11.0, profile.opens), profile.closes)  # Saturday: late-morning rush
        hour = self.rng.triangular(profile.opens, profile.closes - 0.05, busiest)
        return self._local(day, hour)

    def _topup(self, merchant: int, at: datetime) -> Topup:
        points = self.spec.profiles[self.spec.merchants[merchant].category].topup_points
        self.floats[merchant] += points
        return Topup(self._key("topup"), merchant, points, at)

    # -- the simulation -------------------------------------------------------------------

    def history(self) -> Iterator[tuple[date, list[Event]]]:
        for offset in range(self.days):
            day = self.start + timedelta(days=offset)
            yield day, self.plan_day(day, offset)

    def pilot(self) -> list[Event]:
        """The pilot's purchases, ``expiry_days`` before the history (none without expiry)."""
        if self.lots is None or not pilot.has_pilot(self.expiry_days):
            return []
        shops = [m for m, spec in enumerate(self.spec.merchants) if spec.in_pilot]
        savers = [s for s, spec in enumerate(self.spec.shoppers) if spec.in_pilot]
        if not shops or not savers:
            return []
        days = pilot.pilot_days(self.start, self.expiry_days)
        events: list[Event] = [self._topup(m, self._local(days[0], 7.0)) for m in shops]
        visits = []
        for shopper in savers:
            for _ in range(self.rng.randint(*pilot.PILOT_EARNS)):
                day = self.rng.choice(days)
                open_shops = [m for m in shops if self.spec.merchants[m].closed_weekday != day.weekday()]
                if open_shops:
                    merchant = self.rng.choice(open_shops)
                    visits.append((self._visit_time(merchant, day), shopper, merchant))
        for at, shopper, merchant in sorted(visits):
            events.extend(self._earn(at, shopper, merchant, self._purchase_cents(merchant)))
        return events

    def plan_day(self, day: date, offset: int) -> list[Event]:
        events: list[Event] = []
        if self.lots is not None:
            events.extend(self._expire(day))
        for index in self.campaigns.funded_on(day):
            campaign = self.campaigns.campaigns[index]
            events.append(Fund(self._key("fund"), index, campaign.budget, campaign.funded_at))
        morning = self._local(day, 7.0)
        for merchant, spec in enumerate(self.spec.merchants):
            package = self.spec.profiles[spec.category].topup_points
            # The first morning every shop buys its float; later it tops up when low.
            if offset == 0 or self.floats[merchant] < package // 3:
                events.append(self._topup(merchant, morning))
        if offset >= PAYOUT_AFTER_DAYS and day.weekday() == 0 and not self.paid_out:
            events.extend(self._payout(day))
        if day.weekday() == SUNDAY:
            return events
        visits = self._visits(day)
        for at, shopper, merchant in visits:
            events.extend(self._visit(day, offset, at, shopper, merchant))
        for index in self.campaigns.rushing(day):
            events.extend(self._rush(index, day, offset))
        return events

    def _visits(self, day: date) -> list[tuple[datetime, int, int]]:
        weekday = day.weekday()
        boosts = self.campaigns.boosts(day)
        visits = []
        for shopper, habits in enumerate(self.habits):
            expected = habits.visits_per_week / 6 * DAY_WEIGHTS[weekday] / _MEAN_TRADING_WEIGHT
            count = int(expected) + (1 if self.rng.random() < expected - int(expected) else 0)
            weights = [
                w if self.spec.merchants[m].closed_weekday != weekday else 0.0
                for m, w in enumerate(habits.shop_weights)
            ]
            for _ in range(count):
                if not any(weights):
                    continue
                merchant = self.rng.choices(range(len(weights)), weights=weights)[0]
                visits.append((self._visit_time(merchant, day), shopper, merchant))
            for extra, covered in boosts:
                # Extra trips to the covered shops this shopper already goes to, in proportion
                # to how much of their shopping goes there: those shops sell ``visit_boost`` times more.
                drawn = [w if covered[m] else 0.0 for m, w in enumerate(weights)]
                if not any(drawn):
                    continue
                more = expected * extra * sum(drawn) / sum(weights)
                for _ in range(int(more) + (1 if self.rng.random() < more - int(more) else 0)):
                    merchant = self.rng.choices(range(len(drawn)), weights=drawn)[0]
                    visits.append((self._visit_time(merchant, day), shopper, merchant))
        visits.sort()
        return visits

    def _visit(self, day: date, offset: int, at: datetime, shopper: int, merchant: int) -> list[Event]:
        purchase = self._purchase_cents(merchant)
        wallet = self.wallets[shopper]
        wants_to_spend = (
            self.spec.shoppers[shopper].spends_points
            and wallet >= MIN_REDEEM_POINTS
            and self.last_earn_shop[shopper] not in (None, merchant)  # spend elsewhere than earned
            and self.rng.random() < REDEEM_CHANCE
        )
        events: list[Event] = []
        if wants_to_spend:
            held = min(wallet // 10 * 10, purchase // self.point_value_cents)
            if held >= MIN_REDEEM_POINTS // 2:
                redeem = self._redeem(offset, at, shopper, merchant, purchase, held)
                events.append(redeem)
                if redeem.captured is not None:
                    return events
                at = redeem.resolved_at + timedelta(seconds=15)  # paid cash after all: earn instead
        events.extend(self._earn(at, shopper, merchant, purchase))
        return events

    def _redeem(self, offset: int, at: datetime, shopper: int, merchant: int, purchase: int, held: int) -> Redeem:
        resolved_at = at + timedelta(seconds=self.rng.randrange(15, 75))
        captured: int | None = held
        if not self.voided and offset >= VOID_AFTER_DAYS:
            self.voided = True
            captured = None  # the shopper changed their mind at the till
        elif self.rng.random() < PARTIAL_CAPTURE_CHANCE:
            captured = max(10, held * self.rng.choice((5, 6, 7, 8)) // 10)  # the basket shrank
        redeem = Redeem(self._key("redeem"), shopper, merchant, purchase, held, captured, at, resolved_at)
        if captured is not None:
            self.wallets[shopper] -= captured
            self.redeemed[merchant] += captured
            self.captures.append(redeem)
            if self.lots is not None:
                self.lots.debit(shopper, resolved_at, captured)
        return redeem

    def _earn(self, at: datetime, shopper: int, merchant: int, purchase: int) -> list[Event]:
        points = purchase * self.points_per_euro // 100  # whole euros only, rounded down
        if points <= 0:
            return []
        events: list[Event] = []
        if self.floats[merchant] < points:  # an unusually big day: an extra top-up
            events.append(self._topup(merchant, at - timedelta(seconds=30)))
        self.floats[merchant] -= points
        self.wallets[shopper] += points
        self.last_earn_shop[shopper] = merchant
        if self.lots is not None:
            self.lots.credit(shopper, at, points)
        bonuses = self.campaigns.pay(merchant, at, points, purchase)
        for _campaign, bonus in bonuses:
            self.wallets[shopper] += bonus
            if self.lots is not None:
                self.lots.credit(shopper, at, bonus)  # its own transfer, right after the earn
        earn = Earn(self._key("earn"), shopper, merchant, purchase, points, at, bonuses)
        self.earns.append(earn)
        events.append(earn)
        return events

    def _rush(self, index: int, day: date, offset: int) -> list[Event]:
        """The campaign's last trading day (a Saturday): its regulars come once more, one by one,
        until its uplift reaches the minimum (bounded, should the shops' baskets be tiny)."""
        covered = [self.campaigns.campaigns[index].covers(shop, day)
                   and spec.closed_weekday != day.weekday()
                   for shop, spec in zip(self.campaigns.shops, self.spec.merchants, strict=True)]
        drawn = [[w if covered[m] else 0.0 for m, w in enumerate(habits.shop_weights)] for habits in self.habits]
        regulars = [sum(weights) for weights in drawn]
        events: list[Event] = []
        if not any(regulars):
            return events
        for _ in range(MAX_RUSH_VISITS):
            shopper = self.rng.choices(range(len(regulars)), weights=regulars)[0]
            merchant = self.rng.choices(range(len(covered)), weights=drawn[shopper])[0]
            events.extend(self._visit(day, offset, self._visit_time(merchant, day), shopper, merchant))
            if not self.campaigns.short_of_uplift(index):
                break
        return events

    def _expire(self, day: date) -> list[Event]:
        """The first expiry run of ``day``: what ``expiry.service.expire_wallet`` will post."""
        assert self.lots is not None
        at = local_dt(day, pilot.EXPIRY_HOUR)
        lapsed = []
        for shopper in range(len(self.wallets)):
            posted = []
            for lapse_day, due in self.lots.lapsed(shopper, today=day):
                points = min(due, self.wallets[shopper])
                if points <= 0:
                    break
                self.wallets[shopper] -= points
                self.lots.debit(shopper, at, points)
                posted.append((lapse_day, points))
            if posted:
                lapsed.append((shopper, tuple(posted)))
        return [Expire(self._key("expiry"), at, tuple(lapsed))] if lapsed else []

    def _payout(self, day: date) -> list[Event]:
        """The first monthly settlement: the shop that accepted the most points is paid."""
        merchant = max(range(len(self.redeemed)), key=lambda m: (self.redeemed[m], -m))
        points = self.redeemed[merchant]
        if points <= 0:
            return []
        self.paid_out = True
        self.redeemed[merchant] = 0
        return [
            Payout(
                self._key("payout"),
                merchant,
                points,
                self._local(day, 10.0),
                period_start=self.start,
                period_end=day - timedelta(days=1),
            )
        ]

    def closing(self) -> list[Reversal]:
        """Corrections made after the history: a returned purchase and a refunded redemption."""
        reversals: list[Reversal] = []
        for earn in reversed(self.earns):
            category = self.spec.merchants[earn.merchant].category
            # Not one with a campaign bonus: a plain ledger reversal would leave the bonus
            # standing, where the till's undo takes it back (backend.campaigns.reversal).
            if category in FUN_SHOPPING and not earn.bonuses and self.wallets[earn.shopper] >= earn.points:
                self.wallets[earn.shopper] -= earn.points
                self.floats[earn.merchant] += earn.points
                reversals.append(Reversal(self._key("reversal"), earn.key, None, "Aankoop teruggebracht"))
                break
        for redeem in reversed(self.captures):
            amount = (redeem.captured or 0) // 2
            if amount > 0 and self.redeemed[redeem.merchant] >= amount:
                self.redeemed[redeem.merchant] -= amount
                self.wallets[redeem.shopper] += amount
                reversals.append(
                    Reversal(self._key("reversal"), redeem.key, amount, "Punten deels teruggestort (artikel geruild)")
                )
                break
        return reversals
