"""Load a large demo town in bulk: exactly the rows the ledger services would write, far faster.

Posting a million purchases one ``post_transfer`` at a time takes hours. This loader
simulates the history in memory (every balance, float, lot and hold) and writes, one
transaction per day, with multi-row inserts: the transfers (same idempotency keys,
request fingerprints, metas and descriptions the services produce), their two entries,
captured holds for redemptions, one ``CampaignAward`` per campaign bonus
(``backend.demo.bulk_campaigns``), the hash-chain links (``backend.ledger.chain.link_hash``,
in id order, as the sealer would), the reports rollup; at the end the balance shards and
the chain head. ``kernpunt ledger verify`` and ``kernpunt reports check`` pass on it.
It assumes nobody else writes to the database while it runs (ids are allocated here).
"""

from __future__ import annotations

import bisect
import random
import time as clock
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TextIO

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.campaigns.models import CampaignAward
from backend.core.idempotency import request_fingerprint
from backend.core.types import utcnow
from backend.demo.bulk_campaigns import CampaignBook, PlannedCampaign
from backend.demo.large_town import LargeMerchant, LargeShopper
from backend.demo.town import PROFILES
from backend.ledger.chain import GENESIS_HASH, link_hash
from backend.ledger.models import AccountBalance, Entry, Hold, LedgerChainHead, LedgerSeal, Transfer
from backend.reports.models import ReportActivity
from backend.reports.rollup import local_slot, row_values

DAY_WEIGHTS = (0.75, 0.85, 1.0, 0.95, 1.25, 1.9, 0.3)  # Saturday peak; Sunday: bakeries and horeca only
EXPIRY_DAYS = 180  # the large demo's points lapse after half a year, so some do within the history
UNDO_CHANCE = 0.003
REDEEM_CHANCE = 0.22
MIN_WALLET_TO_REDEEM = 200


@dataclass
class Ids:
    transfer: int
    entry: int
    hold: int
    award: int


@dataclass
class Day:
    holds: list[dict] = field(default_factory=list)
    transfers: list[dict] = field(default_factory=list)
    entries: list[dict] = field(default_factory=list)
    seals: list[dict] = field(default_factory=list)
    awards: list[dict] = field(default_factory=list)
    facts: dict[tuple, list[int]] = field(default_factory=dict)


def local_dt(day: date, hour: float) -> datetime:
    from backend.reports.rollup import BRUSSELS

    seconds = int(hour * 3600)
    naive = datetime.combine(day, time(0)) + timedelta(seconds=seconds)
    return naive.replace(tzinfo=BRUSSELS).astimezone(UTC)


def season(day: date) -> dict[str, float]:
    """Multipliers per kind of shopping: December, the sales and the summer holidays."""
    run, fun, other = 1.0, 1.0, 1.0
    if day.month == 12 and day.day <= 24:
        run, fun, other = 1.15, 1.6, 1.2
    elif day.month == 1 and 3 <= day.day:
        fun = 1.4
    elif day.month == 7:
        fun = 1.3
    if (day.month == 7 and day.day >= 15) or (day.month == 8 and day.day <= 15):
        run, fun, other = run * 0.85, fun * 0.85, other * 1.1
    return {"run": run, "fun": fun, "other": other}


class BulkHistory:
    """The in-memory simulation; ``run_day`` returns the rows of one day."""

    def __init__(self, *, rng: random.Random, tenant_id: int, start: date, days: int, merchants: list[LargeMerchant],
                 shoppers: list[LargeShopper], merchant_ids: list[int], floats: list[int], redeemed: list[int],
                 shopper_ids: list[int], wallets: list[int], funding: int, payouts: int, breakage: int,
                 campaigns: CampaignBook, ids: Ids, point_value_cents: int, hold_timeout: int,
                 staff: dict[str, int], key_prefix: str) -> None:
        self.rng, self.tenant_id, self.start, self.days = rng, tenant_id, start, days
        self.merchants, self.shoppers = merchants, shoppers
        self.merchant_ids, self.floats, self.redeemed = merchant_ids, floats, redeemed
        self.shopper_ids, self.wallets = shopper_ids, wallets
        self.funding, self.payouts, self.breakage = funding, payouts, breakage
        self.campaigns, self.ids = campaigns, ids
        self.point_value, self.hold_timeout, self.staff, self.key_prefix = point_value_cents, hold_timeout, staff, key_prefix
        self.balance: dict[int, int] = {}
        self.float_left = [0] * len(merchants)
        self.redeemed_left = [0] * len(merchants)
        self.wallet = [0] * len(shoppers)
        self.lots: list[deque[list[int]]] = [deque() for _ in shoppers]
        self.expiring: dict[int, set[int]] = {}
        self.last_earn_shop: list[int | None] = [None] * len(shoppers)
        # The rollup's source of a redemption is the latest earn *by time* at or before the
        # capture, which a visit a few seconds later can still change: settled at day end.
        self.earlier_source: list[int | None] = [None] * len(shoppers)
        self.day_earns: dict[int, list[tuple[datetime, int, int]]] = {}
        self.pending_redeems: list[tuple[int, datetime, int, int]] = []
        self.prev_hash, self.seq, self.newest = GENESIS_HASH, 0, None
        self.counter = 0
        self.kinds: dict[str, int] = {}
        self.holds = 0
        self.sealed_at = utcnow()

    # -- writing one transfer the way post_transfer would --------------------------------------

    def _key(self, kind: str) -> str:
        self.counter += 1
        return f"{self.key_prefix}:{kind}:{self.counter:08d}"

    def transfer(self, out: Day, *, kind: str, debit: int, credit: int, amount: int, at: datetime,
                 description: str | None = None, meta: dict | None = None, key: str | None = None,
                 fingerprint: str | None = None, reverses: int | None = None, hold_id: int | None = None,
                 user: int | None = None) -> int:
        meta = meta or {}
        key = key or self._key(kind)
        fingerprint = fingerprint or request_fingerprint(f"transfer:{kind}", {
            "debit": debit, "credit": credit, "amount": amount, "description": description, "meta": meta,
            "reverses": reverses, "hold": hold_id})
        self.ids.transfer += 1
        tid = self.ids.transfer
        row = {"id": tid, "tenant_id": self.tenant_id, "idempotency_key": key, "request_hash": fingerprint,
               "kind": kind, "debit_account_id": debit, "credit_account_id": credit, "amount": amount,
               "reverses_transfer_id": reverses, "hold_id": hold_id, "description": description, "meta": meta,
               "created_by_user_id": user, "created_at": at}
        out.transfers.append(row)
        for account, value in ((debit, -amount), (credit, amount)):
            self.ids.entry += 1
            out.entries.append({"id": self.ids.entry, "tenant_id": self.tenant_id, "transfer_id": tid,
                                "account_id": account, "amount": value, "created_at": at})
            self.balance[account] = self.balance.get(account, 0) + value
        self.seq += 1
        digest = link_hash(self.prev_hash, row)
        out.seals.append({"transfer_id": tid, "tenant_id": self.tenant_id, "seq": self.seq,
                          "prev_hash": self.prev_hash, "hash": digest, "sealed_at": self.sealed_at})
        self.prev_hash = digest
        if self.newest is None or at > self.newest:
            self.newest = at
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        return tid

    def fact(self, out: Day, kind: str, merchant: int, shopper: int, at: datetime, n: int, cents: int, points: int,
             source: str = "") -> None:
        day, hour = local_slot(at)
        key = (kind, day, merchant, shopper, hour, source)
        total = out.facts.setdefault(key, [0, 0, 0])
        total[0] += n
        total[1] += cents
        total[2] += points

    # -- wallets and lots -------------------------------------------------------------------------

    def credit_wallet(self, shopper: int, points: int, offset: int) -> None:
        self.wallet[shopper] += points
        expires = offset + EXPIRY_DAYS
        lots = self.lots[shopper]
        if lots and lots[-1][0] == expires:
            lots[-1][1] += points
        else:
            lots.append([expires, points])
        self.expiring.setdefault(expires, set()).add(shopper)

    def debit_wallet(self, shopper: int, points: int) -> None:
        self.wallet[shopper] -= points
        lots = self.lots[shopper]
        while points > 0:
            take = min(points, lots[0][1])
            lots[0][1] -= take
            points -= take
            if lots[0][1] == 0:
                lots.popleft()

    # -- a day ---------------------------------------------------------------------------------------

    def run_day(self, offset: int) -> Day:
        out = Day()
        day = self.start + timedelta(days=offset)
        self._expire(out, offset, day)
        morning = local_dt(day, 7.0)
        for m, merchant in enumerate(self.merchants):
            package = PROFILES[merchant.category].topup_points * 8
            if self.float_left[m] < package // 3:
                self._topup(out, m, package, morning)
        self.campaigns.start_day(self, out, offset=offset, at=local_dt(day, 6.0))
        if day.day == 1 and offset > 0:
            self._payouts(out, day)
        for at, shopper, m in self._visits(day, offset):
            self._visit(out, offset, day, at, shopper, m)
        self._settle_sources(out)
        return out

    def _settle_sources(self, out: Day) -> None:
        for shopper, resolved, m, captured in self.pending_redeems:
            earlier = [e for e in self.day_earns.get(shopper, ()) if e[0] <= resolved]
            source = max(earlier)[2] if earlier else self.earlier_source[shopper]
            category = self.merchants[source].category if source is not None else ""
            self.fact(out, "redeem", self.merchant_ids[m], self.shopper_ids[shopper], resolved, 1, 0, captured, category)
        for shopper, earns in self.day_earns.items():
            self.earlier_source[shopper] = max(earns)[2]
        self.pending_redeems, self.day_earns = [], {}

    def _topup(self, out: Day, m: int, points: int, at: datetime) -> None:
        self.float_left[m] += points
        self.transfer(out, kind="topup", debit=self.funding, credit=self.floats[m], amount=points, at=at,
                      description="Opwaardering spaarpunten",
                      meta={"paid_cents": points * self.point_value, "method": "demo"},
                      user=self.staff.get("owner") if m == 0 else None)

    def _payouts(self, out: Day, day: date) -> None:
        at = local_dt(day, 10.0)
        end = day - timedelta(days=1)
        first = end.replace(day=1)
        for m, points in enumerate(self.redeemed_left):
            if points <= 0:
                continue
            self.redeemed_left[m] = 0
            self.transfer(out, kind="payout", debit=self.redeemed[m], credit=self.payouts, amount=points, at=at,
                          description=f"Uitbetaling {first:%d/%m}–{end:%d/%m/%Y}",
                          meta={"period_start": first.isoformat(), "period_end": end.isoformat(), "method": "sepa",
                                "paid_cents": points * self.point_value}, user=self.staff.get("admin"))

    def _expire(self, out: Day, offset: int, day: date) -> None:
        at = local_dt(day, 1.5)
        for shopper in sorted(self.expiring.pop(offset, ())):
            lots, points = self.lots[shopper], 0
            while lots and lots[0][0] <= offset:
                points += lots.popleft()[1]
            if points <= 0:
                continue
            self.wallet[shopper] -= points
            self.transfer(out, kind="expiry", debit=self.wallets[shopper], credit=self.breakage, amount=points,
                          at=at, description="Vervallen punten", meta={"expired_on": day.isoformat()})
            self.fact(out, "expiry", 0, self.shopper_ids[shopper], at, 1, 0, points)

    def _campaign(self, offset: int, kind: str) -> PlannedCampaign | None:
        """The campaign that draws more shoppers to this kind of shop today (bonuses: CampaignBook)."""
        for campaign in self.campaigns.planned:
            if campaign.first <= offset <= campaign.last and kind in campaign.kinds:
                return campaign
        return None

    def _visits(self, day: date, offset: int) -> list[tuple[datetime, int, int]]:
        rng, weekday = self.rng, day.weekday()
        factors = season(day)
        boost = max((c.visit_boost for c in self.campaigns.planned if c.first <= offset <= c.last), default=1.0)
        top = max(factors.values()) * boost
        day_weight = DAY_WEIGHTS[weekday] / (sum(DAY_WEIGHTS) / 7)
        visits = []
        day_end = local_dt(day, 23.99)
        for shopper, person in enumerate(self.shoppers):
            if person.leaves_day < offset or person.joined > day_end:
                continue
            expected = person.visits_per_week / 7 * day_weight * top
            count = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
            for _ in range(count):
                pick = bisect.bisect_left(person.cum_weights, rng.random() * person.cum_weights[-1])
                m = person.favourites[min(pick, len(person.favourites) - 1)]
                merchant = self.merchants[m]
                if merchant.closed_weekday == weekday:
                    continue
                if weekday == 6 and merchant.category not in ("bakery", "horeca"):
                    continue
                kind = merchant.kind if merchant.kind in ("run", "fun") else "other"
                factor = factors[kind] * (boost if self._campaign(offset, merchant.kind) else 1.0)
                if rng.random() >= factor / top:
                    continue
                profile = PROFILES[merchant.category]
                opens, closes, busiest = profile.opens, profile.closes, profile.busiest
                if weekday == 6:
                    closes = min(closes, 12.0) if merchant.category == "bakery" else closes
                    busiest = min(busiest, closes - 0.5)
                elif weekday == 5 and merchant.category != "horeca":
                    busiest = min(max(11.0, opens), closes)
                at = local_dt(day, rng.triangular(opens, closes - 0.05, busiest))
                if at < person.joined:
                    continue
                visits.append((at, shopper, m))
        visits.sort()
        return visits

    def _visit(self, out: Day, offset: int, day: date, at: datetime, shopper: int, m: int) -> None:
        rng, merchant = self.rng, self.merchants[m]
        profile = PROFILES[merchant.category]
        cents = rng.triangular(profile.low_cents, profile.high_cents, profile.mode_cents)
        if day.month == 12 and merchant.kind == "fun":
            cents *= 1.2
        purchase = max(100, int(cents) // 5 * 5)
        last = self.last_earn_shop[shopper]
        if (self.wallet[shopper] >= MIN_WALLET_TO_REDEEM and last is not None and last != m
                and rng.random() < REDEEM_CHANCE):
            held = min(self.wallet[shopper] // 10 * 10, purchase // self.point_value)
            if held >= 50:
                self._redeem(out, at, shopper, m, purchase, held)
                return
        self._earn(out, offset, at, shopper, m, purchase)

    def _earn(self, out: Day, offset: int, at: datetime, shopper: int, m: int, purchase: int) -> None:
        points = purchase // 100  # 1 point per whole euro (the tenant's default rule)
        if points <= 0:
            return
        if self.float_left[m] < points:
            self._topup(out, m, PROFILES[self.merchants[m].category].topup_points * 8, at - timedelta(seconds=30))
        self.float_left[m] -= points
        merchant_id, shopper_id = self.merchant_ids[m], self.shopper_ids[shopper]
        meta = {"purchase_cents": purchase, "merchant_id": merchant_id}
        key = self._key("earn")
        earn_id = self.transfer(out, kind="earn", debit=self.floats[m], credit=self.wallets[shopper], amount=points,
                                at=at, description=f"Aankoop bij {self.merchants[m].name}", meta=meta, key=key,
                                user=self.staff.get("cashier") if m == 0 else None)
        self.credit_wallet(shopper, points, offset)
        self.last_earn_shop[shopper] = m
        self.day_earns.setdefault(shopper, []).append((at, earn_id, m))
        self.fact(out, "earn", merchant_id, shopper_id, at, 1, purchase, points)
        # The till pays campaign bonuses in the earn's transaction, so an undo finds them to take back.
        paid = self.campaigns.pay(self, out, offset=offset, at=at, shopper=shopper, m=m, earn_id=earn_id,
                                  earn_key=key, points=points, purchase=purchase)
        if self.rng.random() < UNDO_CHANCE:
            undo_at = at + timedelta(seconds=90)
            description = f"Undo of earn {earn_id}"
            undo_key = self._key("reversal")
            self.transfer(out, kind="reversal", debit=self.wallets[shopper], credit=self.floats[m], amount=points,
                          at=undo_at, description=description, meta={"reversed_kind": "earn"}, reverses=earn_id,
                          key=undo_key,
                          fingerprint=request_fingerprint("reversal", {"transfer": earn_id, "amount": None,
                                                                       "description": description, "meta": {}}))
            self.debit_wallet(shopper, points)
            self.float_left[m] += points
            self.fact(out, "earn", merchant_id, shopper_id, at, -1, -purchase, -points)
            self.campaigns.reverse(self, out, paid=paid, earn_id=earn_id, earned=points, taken_back=points,
                                   undo_key=undo_key, shopper=shopper, m=m, at=undo_at)

    def _redeem(self, out: Day, at: datetime, shopper: int, m: int, purchase: int, held: int) -> None:
        rng = self.rng
        captured = held if rng.random() < 0.8 else max(10, held * rng.choice((5, 6, 7, 8)) // 10)
        resolved = at + timedelta(seconds=rng.randrange(15, 75))
        debit, credit = self.wallets[shopper], self.redeemed[m]
        description = f"Betalen met punten bij {self.merchants[m].name}"
        meta = {"purchase_cents": purchase}
        key = self._key("redeem")
        self.ids.hold += 1
        hold_id = self.ids.hold
        user = self.staff.get("cashier") if m == 0 else None
        out.holds.append({
            "id": hold_id, "tenant_id": self.tenant_id, "idempotency_key": f"{key}:hold",
            "request_hash": request_fingerprint("hold:redeem", {"debit": debit, "credit": credit, "amount": held,
                                                                "timeout": self.hold_timeout,
                                                                "description": description, "meta": meta}),
            "kind": "redeem", "debit_account_id": debit, "credit_account_id": credit, "slot": 0, "amount": held,
            "status": "captured", "expires_at": at + timedelta(seconds=self.hold_timeout),
            "captured_amount": captured, "description": description, "meta": meta, "created_by_user_id": user,
            "created_at": at, "resolved_at": resolved})
        self.holds += 1
        self.transfer(out, kind="redeem", debit=debit, credit=credit, amount=captured, at=resolved,
                      description=description, meta={**meta, "held": held}, key=key, hold_id=hold_id, user=user,
                      fingerprint=request_fingerprint("capture", {"hold": hold_id, "amount": captured,
                                                                  "description": None}))
        self.debit_wallet(shopper, captured)
        self.redeemed_left[m] += captured
        self.pending_redeems.append((shopper, resolved, m, captured))


async def write_day(session: AsyncSession, tenant_id: int, out: Day, batch: int = 5000) -> None:
    for table, rows in ((Hold.__table__, out.holds), (Transfer.__table__, out.transfers),
                        (Entry.__table__, out.entries), (LedgerSeal.__table__, out.seals),
                        (CampaignAward.__table__, out.awards)):
        for start in range(0, len(rows), batch):
            await session.execute(insert(table), rows[start:start + batch])
    facts = [row_values(tenant_id, key, *total) for key, total in out.facts.items()]
    for start in range(0, len(facts), batch):
        await session.execute(insert(ReportActivity.__table__), facts[start:start + batch])


async def next_ids(session: AsyncSession) -> Ids:
    async def top(table: Any) -> int:
        return int((await session.execute(select(func.max(table.c.id)))).scalar() or 0)

    return Ids(await top(Transfer.__table__), await top(Entry.__table__), await top(Hold.__table__),
               await top(CampaignAward.__table__))


async def finish(session: AsyncSession, history: BulkHistory) -> None:
    b = AccountBalance.__table__
    rows = [{"aid": account, "value": value} for account, value in history.balance.items()]
    stmt = update(b).where(b.c.account_id == bindparam("aid"), b.c.slot == 0).values(balance=bindparam("value"))
    for start in range(0, len(rows), 5000):
        await session.execute(stmt, rows[start:start + 5000])
    await session.execute(insert(LedgerChainHead.__table__), {
        "tenant_id": history.tenant_id, "last_seq": history.seq, "last_hash": history.prev_hash,
        "sealed_through": history.newest, "updated_at": utcnow()})
    if session.bind.dialect.name == "postgresql":
        for table in ("transfer", "entry", "hold", "account", "shopper", "campaign_award"):
            await session.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        # Fresh statistics: the planner would otherwise plan for the empty tables of before.
        await session.execute(text("ANALYZE"))
    else:
        await session.execute(text("ANALYZE"))


def progress_bar(stream: TextIO) -> Callable[[int, int, str], None]:
    started = clock.monotonic()
    shown = [-1.0]

    def show(done: int, total: int, label: str) -> None:
        width = 30
        filled = width * done // max(total, 1)
        elapsed = clock.monotonic() - started
        if done != total and elapsed - shown[0] < 1.0:
            return  # at most one redraw a second
        shown[0] = elapsed
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} days {label} {elapsed:6.0f}s")
        if done == total:
            stream.write("\n")
        stream.flush()

    return show


