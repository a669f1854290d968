"""The activity rollup: kept in step with the ledger, and checked against a recomputation.

``apply_transfer`` runs inside ``post_transfer`` (same transaction) for the kinds that
matter to reports: earn, bonus, redeem (the capture of a till hold), expiry and their
reversals. It also keeps the per-shopper monthly rollup (``shopper_months``) in step.
``recompute`` derives the same rows from the transfers alone; ``check`` compares both,
``rebuild`` replaces the rollup of a tenant by the recomputation (repairs).

Definitions (docs/reports-api.md):
- a reversal is booked on the row of the transfer it reverses (its day, hour, shop and
  shopper); a full reversal takes the purchase away (``n`` - 1 and all of its cents), a
  partial one only the refunded cents (``meta.refund_cents``, else pro rata) and points;
- a redemption's ``source_category`` is the category of the shop of the shopper's most
  recent earn at or before the redemption (``''`` when the shopper never earned).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from backend.ledger.models import Account, Transfer
from backend.merchants.models import Merchant
from backend.reports import shopper_months
from backend.reports.models import NO_MERCHANT, ReportActivity

BRUSSELS = ZoneInfo("Europe/Brussels")
ROLLUP_KINDS = frozenset({"earn", "bonus", "redeem", "expiry"})
a = ReportActivity.__table__
t = Transfer.__table__
acc = Account.__table__
KEY_COLUMNS = ("kind", "day", "merchant_id", "shopper_id", "hour", "source_category")

Key = tuple[str, date, int, int, int, str]


def local_slot(at: datetime) -> tuple[date, int]:
    local = at.astimezone(BRUSSELS)
    return local.date(), local.hour


def row_values(tenant_id: int, key: Key, n: int, cents: int, points: int) -> dict[str, Any]:
    kind, day, merchant_id, shopper_id, hour, source = key
    return {
        "tenant_id": tenant_id,
        "kind": kind,
        "day": day,
        "merchant_id": merchant_id,
        "shopper_id": shopper_id,
        "hour": hour,
        "source_category": source,
        "weekday": day.weekday(),
        "week": day - timedelta(days=day.weekday()),
        "month": day.replace(day=1),
        "n": n,
        "cents": cents,
        "points": points,
    }


def _add_on_conflict(stmt: Any) -> Any:
    return stmt.on_conflict_do_update(
        index_elements=["tenant_id", *KEY_COLUMNS],
        set_={"n": a.c.n + stmt.excluded.n, "cents": a.c.cents + stmt.excluded.cents, "points": a.c.points + stmt.excluded.points},
    )


def _upsert(dialect_name: str) -> Any:
    return _add_on_conflict((postgresql if dialect_name == "postgresql" else sqlite).insert(a))


_UPSERT = {name: _upsert(name) for name in ("postgresql", "sqlite")}
ACTIVITY_COLUMNS = ("tenant_id", *KEY_COLUMNS, "weekday", "week", "month", "n", "cents", "points")


def _both_rows_pg() -> Any:
    """A forward transfer's activity and shopper-month rows in one statement: one round trip on the till's path.

    (A reversal takes two: the shopper month's day bit is then recomputed from the activity
    rows, which a statement's own data-modifying CTE would not yet show.)
    """
    stmt = postgresql.insert(a).values({name: bindparam(f"a_{name}") for name in ACTIVITY_COLUMNS})
    activity_row = _add_on_conflict(stmt).returning(a.c.tenant_id).cte("activity_row")
    return shopper_months.upsert("postgresql", prefix="m_").add_cte(activity_row)


_BOTH_ROWS_PG = _both_rows_pg()


@dataclass(frozen=True, slots=True)
class AccountOwner:
    type: str
    merchant_id: int | None
    shopper_id: int | None


_owners: WeakKeyDictionary[Any, dict[int, AccountOwner]] = WeakKeyDictionary()
_categories: WeakKeyDictionary[Any, dict[int, str]] = WeakKeyDictionary()


def _cache(store: WeakKeyDictionary[Any, dict], session: AsyncSession) -> dict:
    engine = session.bind.sync_engine
    found = store.get(engine)
    if found is None:
        found = store[engine] = {}
    return found


async def _owners_of(session: AsyncSession, account_ids: tuple[int, ...]) -> dict[int, AccountOwner]:
    cache = _cache(_owners, session)
    missing = [i for i in account_ids if i not in cache]
    if missing:
        rows = await session.execute(
            select(acc.c.id, acc.c.type, acc.c.merchant_id, acc.c.shopper_id).where(acc.c.id.in_(missing))
        )
        for row in rows:
            cache[row.id] = AccountOwner(row.type, row.merchant_id, row.shopper_id)
    return {i: cache[i] for i in account_ids}


async def _category(session: AsyncSession, merchant_id: int) -> str:
    cache = _cache(_categories, session)
    if merchant_id not in cache:
        cache[merchant_id] = (
            await session.execute(select(Merchant.category).where(Merchant.id == merchant_id))
        ).scalar_one_or_none() or ""
    return cache[merchant_id]


_last_earn_shop = (
    select(t.c.debit_account_id)
    .where(
        t.c.credit_account_id == bindparam("wallet"),
        t.c.kind == "earn",
        t.c.created_at <= bindparam("at", type_=t.c.created_at.type),
        t.c.tenant_id == bindparam("tid"),
    )
    .order_by(t.c.created_at.desc(), t.c.id.desc())
    .limit(1)
)


async def _source_category(session: AsyncSession, *, tenant_id: int, wallet_id: int, at: datetime) -> str:
    float_id = (await session.execute(_last_earn_shop, {"wallet": wallet_id, "at": at, "tid": tenant_id})).scalar()
    if float_id is None:
        return ""
    owner = (await _owners_of(session, (float_id,)))[float_id]
    return await _category(session, owner.merchant_id) if owner.merchant_id else ""


async def _key_of(session: AsyncSession, *, tenant_id: int, kind: str, debit: int, credit: int,
                  at: datetime, meta: dict[str, Any]) -> Key:
    owners = await _owners_of(session, (debit, credit))
    day, hour = local_slot(at)
    if kind == "earn":
        return (kind, day, owners[debit].merchant_id or NO_MERCHANT, owners[credit].shopper_id or 0, hour, "")
    if kind == "bonus":
        return (kind, day, int(meta.get("merchant_id") or NO_MERCHANT), owners[credit].shopper_id or 0, hour, "")
    if kind == "redeem":
        source = await _source_category(session, tenant_id=tenant_id, wallet_id=debit, at=at)
        return (kind, day, owners[credit].merchant_id or NO_MERCHANT, owners[debit].shopper_id or 0, hour, source)
    return (kind, day, NO_MERCHANT, owners[debit].shopper_id or 0, hour, "")


def _deltas(kind: str, amount: int, meta: dict[str, Any]) -> tuple[int, int, int]:
    return 1, int(meta.get("purchase_cents") or 0) if kind == "earn" else 0, amount


def _reversal_deltas(original: Any, amount: int, meta: dict[str, Any]) -> tuple[int, int, int]:
    full = amount == original.amount
    cents = 0
    if original.kind == "earn":
        purchase = int((original.meta or {}).get("purchase_cents") or 0)
        if full:
            cents = purchase
        elif meta.get("refund_cents") is not None:
            cents = min(int(meta["refund_cents"]), purchase)
        else:
            cents = purchase * amount // original.amount
    return (-1 if full else 0), -cents, -amount


_original = select(t.c.id, t.c.kind, t.c.amount, t.c.debit_account_id, t.c.credit_account_id, t.c.created_at, t.c.meta).where(
    t.c.id == bindparam("id"), t.c.tenant_id == bindparam("tid")
)


async def apply_transfer(session: AsyncSession, posted: Any) -> None:
    """Book one freshly posted transfer in the rollup (called by ``post_transfer``)."""
    tenant_id = posted.tenant_id
    if posted.kind in ROLLUP_KINDS:
        key = await _key_of(session, tenant_id=tenant_id, kind=posted.kind, debit=posted.debit_account_id,
                            credit=posted.credit_account_id, at=posted.created_at, meta=posted.meta)
        n, cents, points = _deltas(posted.kind, posted.amount, posted.meta)
    elif posted.kind == "reversal" and posted.reverses_transfer_id is not None:
        original = (await session.execute(_original, {"id": posted.reverses_transfer_id, "tid": tenant_id})).first()
        if original is None or original.kind not in ROLLUP_KINDS:
            return
        key = await _key_of(session, tenant_id=tenant_id, kind=original.kind, debit=original.debit_account_id,
                            credit=original.credit_account_id, at=original.created_at, meta=original.meta or {})
        n, cents, points = _reversal_deltas(original, posted.amount, posted.meta)
    else:
        return
    reversal = posted.kind == "reversal"
    if session.bind.dialect.name == "postgresql" and not reversal:
        activity = {f"a_{name}": value for name, value in row_values(tenant_id, key, n, cents, points).items()}
        await session.execute(_BOTH_ROWS_PG, {**activity, **shopper_months.row_values(
            tenant_id=tenant_id, kind=key[0], day=key[1], shopper_id=key[3], n=n, cents=cents, points=points,
            reversal=False, prefix="m_")})
        return
    await session.execute(_UPSERT[session.bind.dialect.name], row_values(tenant_id, key, n, cents, points))
    await shopper_months.apply(session, tenant_id=tenant_id, kind=key[0], day=key[1], shopper_id=key[3], n=n,
                               cents=cents, points=points, reversal=reversal)


# --- full recomputation ----------------------------------------------------------------------


async def recompute(session: AsyncSession, *, tenant_id: int) -> dict[Key, list[int]]:
    """The rollup rows of a tenant derived from its transfers alone (all-zero rows dropped)."""
    owners = {
        row.id: AccountOwner(row.type, row.merchant_id, row.shopper_id)
        for row in await session.execute(
            select(acc.c.id, acc.c.type, acc.c.merchant_id, acc.c.shopper_id).where(acc.c.tenant_id == tenant_id)
        )
    }
    categories = dict(
        (await session.execute(select(Merchant.id, Merchant.category).where(Merchant.tenant_id == tenant_id))).all()
    )
    query = (
        select(t.c.id, t.c.kind, t.c.amount, t.c.debit_account_id, t.c.credit_account_id, t.c.created_at,
               t.c.meta, t.c.reverses_transfer_id)
        .where(t.c.tenant_id == tenant_id, t.c.kind.in_([*ROLLUP_KINDS, "reversal"]))
        .order_by(t.c.id)
    )
    rows = [row async for row in await session.stream(query.execution_options(yield_per=20_000))]
    return compute_rows(rows, owners=owners, categories=categories)


def compute_rows(rows: list[Any], *, owners: dict[int, AccountOwner], categories: dict[int, str]) -> dict[Key, list[int]]:
    """Pure function behind ``recompute``; ``rows`` carry the transfer columns, in id order."""
    earns_by_wallet: dict[int, list[tuple[datetime, int, int]]] = defaultdict(list)
    by_id: dict[int, Any] = {}
    for row in rows:
        by_id[row.id] = row
        if row.kind == "earn":
            earns_by_wallet[row.credit_account_id].append((row.created_at, row.id, row.debit_account_id))
    for earns in earns_by_wallet.values():
        earns.sort()

    def source(wallet: int, at: datetime) -> str:
        earns = earns_by_wallet.get(wallet)
        if not earns:
            return ""
        index = bisect.bisect_right(earns, (at, float("inf"), 0)) - 1
        if index < 0:
            return ""
        merchant = owners[earns[index][2]].merchant_id
        return categories.get(merchant, "") if merchant else ""

    def key_of(row: Any) -> Key:
        day, hour = local_slot(row.created_at)
        debit, credit = owners[row.debit_account_id], owners[row.credit_account_id]
        if row.kind == "earn":
            return ("earn", day, debit.merchant_id or NO_MERCHANT, credit.shopper_id or 0, hour, "")
        if row.kind == "bonus":
            return ("bonus", day, int((row.meta or {}).get("merchant_id") or NO_MERCHANT), credit.shopper_id or 0, hour, "")
        if row.kind == "redeem":
            return ("redeem", day, credit.merchant_id or NO_MERCHANT, debit.shopper_id or 0, hour,
                    source(row.debit_account_id, row.created_at))
        return (row.kind, day, NO_MERCHANT, debit.shopper_id or 0, hour, "")

    totals: dict[Key, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        meta = row.meta or {}
        if row.kind in ROLLUP_KINDS:
            key, deltas = key_of(row), _deltas(row.kind, row.amount, meta)
        else:
            original = by_id.get(row.reverses_transfer_id) if row.reverses_transfer_id else None
            if original is None or original.kind not in ROLLUP_KINDS:
                continue
            key, deltas = key_of(original), _reversal_deltas(original, row.amount, meta)
        total = totals[key]
        for i, value in enumerate(deltas):
            total[i] += value
    return {key: value for key, value in totals.items() if any(value)}


async def stored(session: AsyncSession, *, tenant_id: int) -> dict[Key, list[int]]:
    query = select(a.c.kind, a.c.day, a.c.merchant_id, a.c.shopper_id, a.c.hour, a.c.source_category,
                   a.c.n, a.c.cents, a.c.points).where(a.c.tenant_id == tenant_id)
    result: dict[Key, list[int]] = {}
    async for row in await session.stream(query.execution_options(yield_per=20_000)):
        if row.n or row.cents or row.points:
            day = row.day if isinstance(row.day, date) else date.fromisoformat(row.day)
            result[(row.kind, day, row.merchant_id, row.shopper_id, row.hour, row.source_category)] = [
                row.n, row.cents, row.points]
    return result


@dataclass
class CheckReport:
    tenant_id: int
    rows: int
    differences: list[str]

    @property
    def ok(self) -> bool:
        return not self.differences


async def check(session: AsyncSession, *, tenant_id: int, max_differences: int = 20) -> CheckReport:
    """Compare the stored rollups (activity and shopper months) with a full recomputation from the ledger."""
    expected, actual = await recompute(session, tenant_id=tenant_id), await stored(session, tenant_id=tenant_id)
    differences = _differences("activity", expected, actual, max_differences)
    expected_months = shopper_months.derive(expected.items())
    actual_months = await shopper_months.stored(session, tenant_id=tenant_id)
    differences += _differences("shopper month", expected_months, actual_months, max_differences - len(differences))
    return CheckReport(tenant_id=tenant_id, rows=len(expected) + len(expected_months), differences=differences)


def _differences(label: str, expected: dict, actual: dict, limit: int) -> list[str]:
    found: list[str] = []
    for key in sorted(set(expected) | set(actual), key=str):
        if len(found) >= limit:
            break
        if expected.get(key) != actual.get(key):
            found.append(f"{label} {key}: rollup {actual.get(key)} != ledger {expected.get(key)}")
    return found


async def rebuild(session: AsyncSession, *, tenant_id: int, batch: int = 20_000) -> int:
    """Replace a tenant's rollup by the recomputation (bulk loads, repairs)."""
    expected = await recompute(session, tenant_id=tenant_id)
    await session.execute(delete(a).where(a.c.tenant_id == tenant_id))
    values = [row_values(tenant_id, key, *total) for key, total in expected.items()]
    for start in range(0, len(values), batch):
        await session.execute(insert(a), values[start:start + batch])
    await shopper_months.replace(session, tenant_id=tenant_id, rows=shopper_months.derive(expected.items()))
    return len(values)

