"""The per-shopper monthly rollup (``report_shopper_month``), derived from ``report_activity``.

``apply`` runs right after the activity upsert of a transfer (same transaction, same
shopper, so it adds no lock contention between tills). A forward transfer always has
points, so it sets its day's bit; a reversal may empty the day, so its bit is recomputed
from the activity rows of that shopper, kind and day. ``derive`` computes the rows from
activity totals alone: ``check`` compares it with what is stored and bulk loads use it
to fill the table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from backend.reports.models import ReportActivity, ReportShopperMonth

a = ReportActivity.__table__
sm = ReportShopperMonth.__table__
KINDS = ("earn", "bonus", "redeem", "expiry")
DAY_COLUMNS = tuple(f"{kind}_days" for kind in KINDS)
SUM_COLUMNS = ("purchases", "spend_cents", *(f"{kind}_points" for kind in KINDS))
VALUE_COLUMNS = (*DAY_COLUMNS, *SUM_COLUMNS)
ALL_DAYS = (1 << 31) - 1  # bits 0..30: days 1..31

MonthKey = tuple[date, int]  # (month, shopper_id)


def day_bit(day: date) -> int:
    return 1 << (day.day - 1)


def days_mask(first: int, last: int) -> int:
    """The bits of days ``first`` to ``last`` (inclusive) of a month."""
    return ((1 << last) - 1) ^ ((1 << (first - 1)) - 1)


def _blank() -> dict[str, int]:
    return dict.fromkeys(VALUE_COLUMNS, 0)


def _add(row: dict[str, int], kind: str, day: date, n: int, cents: int, points: int, present: bool) -> None:
    if present:
        row[f"{kind}_days"] |= day_bit(day)
    row[f"{kind}_points"] += points
    if kind == "earn":
        row["purchases"] += n
        row["spend_cents"] += cents


def upsert(dialect_name: str, *, prefix: str = "") -> Any:
    """Add a row's values to its (tenant, month, shopper) row; with ``prefix``, bind ``<prefix><column>``."""
    module = postgresql if dialect_name == "postgresql" else sqlite
    stmt = module.insert(sm)
    if prefix:
        stmt = stmt.values({name: bindparam(f"{prefix}{name}") for name in ("tenant_id", "month", "shopper_id",
                                                                            *VALUE_COLUMNS)})
    merged = {name: sm.c[name].bitwise_or(stmt.excluded[name]) for name in DAY_COLUMNS}
    merged.update({name: sm.c[name] + stmt.excluded[name] for name in SUM_COLUMNS})
    return stmt.on_conflict_do_update(index_elements=["tenant_id", "month", "shopper_id"], set_=merged)


_UPSERT = {name: upsert(name) for name in ("postgresql", "sqlite")}


def row_values(*, tenant_id: int, kind: str, day: date, shopper_id: int, n: int, cents: int, points: int,
               reversal: bool, prefix: str = "") -> dict[str, Any]:
    row: dict[str, Any] = _blank()
    _add(row, kind, day, n, cents, points, present=not reversal and points != 0)
    row.update(tenant_id=tenant_id, month=day.replace(day=1), shopper_id=shopper_id)
    return {f"{prefix}{name}": value for name, value in row.items()} if prefix else row


async def apply(session: AsyncSession, *, tenant_id: int, kind: str, day: date, shopper_id: int, n: int, cents: int,
                points: int, reversal: bool) -> None:
    await session.execute(_UPSERT[session.bind.dialect.name], row_values(
        tenant_id=tenant_id, kind=kind, day=day, shopper_id=shopper_id, n=n, cents=cents, points=points,
        reversal=reversal))
    if reversal:
        await refresh_day(session, tenant_id=tenant_id, kind=kind, day=day, shopper_id=shopper_id)


async def refresh_day(session: AsyncSession, *, tenant_id: int, kind: str, day: date, shopper_id: int) -> None:
    bit = day_bit(day)
    still_active = exists().where(a.c.tenant_id == tenant_id, a.c.shopper_id == shopper_id, a.c.kind == kind,
                                  a.c.day == day, a.c.points != 0)
    column = sm.c[f"{kind}_days"]
    await session.execute(
        update(sm)
        .where(sm.c.tenant_id == tenant_id, sm.c.month == day.replace(day=1), sm.c.shopper_id == shopper_id)
        .values({column: column.bitwise_and(ALL_DAYS ^ bit).bitwise_or(case((still_active, bit), else_=0))})
    )


def derive(activity: Iterable[tuple[tuple, Iterable[int]]]) -> dict[MonthKey, dict[str, int]]:
    """Shopper-month rows from activity ``(key, (n, cents, points))`` pairs; all-zero rows dropped.

    ``key`` is the activity key ``(kind, day, merchant_id, shopper_id, hour, source_category)``.
    """
    rows: dict[MonthKey, dict[str, int]] = defaultdict(_blank)
    for key, (n, cents, points) in activity:
        kind, day, _merchant, shopper_id = key[:4]
        _add(rows[(day.replace(day=1), shopper_id)], kind, day, n, cents, points, present=points != 0)
    return {key: row for key, row in rows.items() if any(row.values())}


async def stored(session: AsyncSession, *, tenant_id: int) -> dict[MonthKey, dict[str, int]]:
    query = select(sm.c.month, sm.c.shopper_id, *(sm.c[name] for name in VALUE_COLUMNS)).where(sm.c.tenant_id == tenant_id)
    found: dict[MonthKey, dict[str, int]] = {}
    async for row in await session.stream(query.execution_options(yield_per=20_000)):
        values = {name: getattr(row, name) for name in VALUE_COLUMNS}
        if any(values.values()):
            month = row.month if isinstance(row.month, date) else date.fromisoformat(row.month)
            found[(month, row.shopper_id)] = values
    return found


async def replace(session: AsyncSession, *, tenant_id: int, rows: dict[MonthKey, dict[str, int]],
                  batch: int = 10_000) -> int:
    await session.execute(delete(sm).where(sm.c.tenant_id == tenant_id))
    values = [{"tenant_id": tenant_id, "month": month, "shopper_id": shopper_id, **row}
              for (month, shopper_id), row in rows.items()]
    for start in range(0, len(values), batch):
        await session.execute(insert(sm), values[start:start + batch])
    return len(values)


async def rebuild_from_activity(session: AsyncSession, *, tenant_id: int) -> int:
    """Refill a tenant's shopper months from its stored activity rollup, in SQL (after a bulk load)."""
    await session.execute(delete(sm).where(sm.c.tenant_id == tenant_id))
    if session.bind.dialect.name == "postgresql":
        day_of_month = func.cast(func.extract("day", a.c.day), Integer)
    else:
        day_of_month = func.cast(func.strftime("%d", a.c.day), Integer)
    # Per (month, shopper, kind, day) first, so that each day's bit is counted once.
    per_day = (
        select(a.c.month, a.c.shopper_id, a.c.kind, literal(1).op("<<")(day_of_month - 1).label("bit"),
               func.max(case((a.c.points != 0, 1), else_=0)).label("active"),
               func.sum(a.c.n).label("n"), func.sum(a.c.cents).label("cents"), func.sum(a.c.points).label("points"))
        .where(a.c.tenant_id == tenant_id)
        .group_by(a.c.month, a.c.shopper_id, a.c.kind, a.c.day)
        .subquery()
    )
    d = per_day.c

    def of(kind: str, value: Any) -> Any:
        return func.sum(case((d.kind == kind, value), else_=0))

    columns = {
        **{f"{kind}_days": of(kind, case((d.active == 1, d.bit), else_=0)) for kind in KINDS},
        "purchases": of("earn", d.n),
        "spend_cents": of("earn", d.cents),
        **{f"{kind}_points": of(kind, d.points) for kind in KINDS},
    }
    query = select(literal(tenant_id, BigInteger), d.month, d.shopper_id, *columns.values()).group_by(d.month, d.shopper_id)
    result = await session.execute(insert(sm).from_select(["tenant_id", "month", "shopper_id", *columns], query))
    return result.rowcount
