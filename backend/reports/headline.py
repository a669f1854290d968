"""Town-wide headline figures from the per-shopper monthly rollup, for periods of any length.

A period of Brussels days is cut into whole months, read from ``report_shopper_month``
(one row per shopper and month), and partial months at its edges, read from
``report_activity`` for the fewest days (see ``plan``). Distinct-shopper counts need no partial-month
rows at all: a row's day bitmask, masked to the period's days in that month, says
whether the shopper was active in the period. So a year costs about one row per shopper
and month instead of one per purchase, and the figures are the same as those counted
from ``report_activity`` directly (``tests/test_reports_headline.py`` compares both).

Only unfiltered scopes come here: a shop filter needs the shop of every purchase, which
the monthly rows do not keep.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from backend.reports.models import ReportActivity, ReportShopperMonth
from backend.reports.shopper_months import ALL_DAYS, KINDS, days_mask

a = ReportActivity.__table__
sm = ReportShopperMonth.__table__
FAR_FUTURE = date(9999, 12, 31)


@dataclass(frozen=True)
class Span:
    """Brussels days ``start`` to ``end``, inclusive."""

    start: date
    end: date


def _month_end(day: date) -> date:
    return day.replace(day=monthrange(day.year, day.month)[1])


def split(span: Span) -> tuple[tuple[date, date] | None, list[Span]]:
    """(first and last whole month of the span, or None; the partial months, each within one month)."""
    first_full = span.start if span.start.day == 1 else _month_end(span.start) + timedelta(days=1)
    last_full = span.end.replace(day=1) if span.end == _month_end(span.end) else (
        span.end.replace(day=1) - timedelta(days=1)).replace(day=1)
    if first_full > last_full:  # within one month, or two partial ones
        if span.start.replace(day=1) == span.end.replace(day=1):
            return None, [span]
        return None, [Span(span.start, _month_end(span.start)), Span(span.end.replace(day=1), span.end)]
    edges = []
    if span.start < first_full:
        edges.append(Span(span.start, first_full - timedelta(days=1)))
    if span.end > _month_end(last_full):
        edges.append(Span(_month_end(last_full) + timedelta(days=1), span.end))
    return (first_full, last_full), edges


# --- sums ------------------------------------------------------------------------------------


Sums = dict[tuple[str, str], dict[str, int]]  # (label, kind) -> purchases, spend_cents, points
Term = tuple[int, str, date, date]  # (sign, "months" or "days", first, last)


def _days_until(first: date, last: date, today: date) -> int:
    """Days of [first, last] that can hold rows (nothing happens after today)."""
    return max(0, (min(last, today) - first).days + 1)


def plan(span: Span, *, today: date) -> list[Term]:
    """The span as a sum of whole months (monthly rows) and day ranges (activity rows), with signs.

    A partial month is read either directly, day by day, or as its whole month minus the
    days outside the span, whichever reads fewer days: a 28-day period ending yesterday
    is then mostly whole months, and a year is whole months plus a few days.
    """
    months, edges = split(span)
    terms: list[Term] = [(1, "months", *months)] if months else []
    for edge in edges:
        month_start, month_end = edge.start.replace(day=1), _month_end(edge.start)
        outside = [r for r in ((month_start, edge.start - timedelta(days=1)), (edge.end + timedelta(days=1), month_end))
                   if r[0] <= r[1]]
        if sum(_days_until(*r, today) for r in outside) < _days_until(edge.start, edge.end, today):
            terms.append((1, "months", month_start, month_start))
            terms.extend((-1, "days", *r) for r in outside)
        else:
            terms.append((1, "days", edge.start, edge.end))
    return terms


async def kind_sums(session: AsyncSession, *, tenant_id: int, spans: dict[str, Span], today: date) -> Sums:
    """Purchases, spend and points per kind for each labelled span."""
    plans = {label: plan(span, today=today) for label, span in spans.items()}
    # Explicit months and days (IN lists), and an open range for the open-ended span: each is
    # a handful of index seeks on both databases, where an OR of ranges makes SQLite scan.
    months: set[date] = set()
    open_from: date | None = None
    days: set[date] = set()
    for terms in plans.values():
        for _, source, first, last in terms:
            if source == "days":
                days.update(first + timedelta(days=i) for i in range((last - first).days + 1))
            elif last >= FAR_FUTURE.replace(day=1):
                open_from = first if open_from is None else min(open_from, first)
            else:
                month = first
                while month <= last:
                    months.add(month)
                    month = _month_end(month) + timedelta(days=1)
    month_sums = select(sm.c.month, func.sum(sm.c.purchases), func.sum(sm.c.spend_cents),
                        *(func.sum(sm.c[f"{kind}_points"]) for kind in KINDS)).group_by(sm.c.month)
    by_month: dict[date, list[int]] = {}
    for condition in ([sm.c.month.in_(sorted(months))] if months else []) + (
            [sm.c.month >= open_from] if open_from else []):
        for month, *values in await session.execute(month_sums.where(sm.c.tenant_id == tenant_id, condition)):
            by_month[_as_date(month)] = [int(v or 0) for v in values]
    by_day: dict[tuple[date, str], tuple[int, int, int]] = {}
    if days:
        query = (
            select(a.c.day, a.c.kind, func.sum(a.c.n), func.sum(a.c.cents), func.sum(a.c.points))
            .where(a.c.tenant_id == tenant_id, a.c.kind.in_(KINDS), a.c.day.in_(sorted(days)))
            .group_by(a.c.day, a.c.kind)
        )
        by_day = {(_as_date(day), kind): (int(n or 0), int(cents or 0), int(points or 0))
                  for day, kind, n, cents, points in await session.execute(query)}
    totals: Sums = {}
    for label, terms in plans.items():
        for kind in KINDS:
            totals[(label, kind)] = {"purchases": 0, "spend_cents": 0, "points": 0}
        for sign, source, first, last in terms:
            if source == "months":
                for month, (purchases, spend, *points) in by_month.items():
                    if first <= month <= last:
                        for kind, value in zip(KINDS, points, strict=True):
                            _add(totals[(label, kind)], sign, purchases if kind == "earn" else 0,
                                 spend if kind == "earn" else 0, value)
            else:
                for (day, kind), (n, cents, points) in by_day.items():
                    if first <= day <= last:
                        _add(totals[(label, kind)], sign, n if kind == "earn" else 0, cents if kind == "earn" else 0,
                             points)
    return totals


def _add(total: dict[str, int], sign: int, purchases: int, spend: int, points: int) -> None:
    total["purchases"] += sign * purchases
    total["spend_cents"] += sign * spend
    total["points"] += sign * points


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


# --- distinct shoppers -----------------------------------------------------------------------


def day_bits(span: Span, month: date) -> int:
    """The bits of the span's days within ``month`` (0 when they do not meet)."""
    first, last = max(span.start, month), min(span.end, _month_end(month))
    return days_mask(first.day, last.day) if first <= last else 0


def month_mask(span: Span) -> ColumnElement[int]:
    """The bits of the span's days within the row's month (0 outside the span)."""
    first, last = span.start.replace(day=1), span.end.replace(day=1)
    if first == last:
        return case((sm.c.month == first, day_bits(span, first)), else_=0)
    return case(
        (sm.c.month < first, 0),
        (sm.c.month > last, 0),
        (sm.c.month == first, day_bits(span, first)),
        (sm.c.month == last, day_bits(span, last)),
        else_=ALL_DAYS,
    )




async def shopper_counts(session: AsyncSession, *, tenant_id: int, cur: Span, prev: Span, before: Span,
                         shopper_table: Any, new_in: dict[str, ColumnElement[bool]]) -> dict[str, int]:
    query = shopper_counts_query(tenant_id=tenant_id, cur=cur, prev=prev, before=before, shopper_table=shopper_table,
                                 new_in=new_in, dialect=session.bind.dialect.name)
    row = (await session.execute(query)).one()
    return {label.removeprefix("n_"): int(value or 0) for label, value in row._mapping.items()}


def shopper_counts_query(*, tenant_id: int, cur: Span, prev: Span, before: Span, shopper_table: Any,
                         new_in: dict[str, ColumnElement[bool]], dialect: str) -> Any:
    """Distinct shoppers: active in each period, returning, new, and per kind (for k-anonymity).

    ``new_in`` maps "cur"/"prev" to a condition on ``shopper_table`` (signed up in that period).
    """
    rows = (
        select(sm.c.shopper_id, sm.c.earn_days.bitwise_or(sm.c.redeem_days).label("active"),
               *(sm.c[f"{kind}_days"] for kind in KINDS),
               month_mask(cur).label("in_cur"), month_mask(prev).label("in_prev"), month_mask(before).label("in_before"))
        .where(sm.c.tenant_id == tenant_id, sm.c.month.between(before.start.replace(day=1), cur.end.replace(day=1)))
    )
    # Each period's day bits of the row's month are worked out once per row: kept from being
    # inlined into every flag below by OFFSET 0 (PostgreSQL) or MATERIALIZED (SQLite).
    if dialect == "postgresql":
        r = rows.offset(0).subquery("shopper_month_bits").c

        def seen(days: Any, bits: Any) -> Any:  # one cheap bitwise-OR aggregate per flag
            return case((func.bit_or(days.bitwise_and(bits)) != 0, 1), else_=0)
    else:
        r = rows.cte("shopper_month_bits").prefix_with("MATERIALIZED").c

        def seen(days: Any, bits: Any) -> Any:  # SQLite has no bit_or aggregate
            return func.max(case((days.bitwise_and(bits) != 0, 1), else_=0))
    flags = {
        "c": seen(r.active, r.in_cur), "p": seen(r.active, r.in_prev), "b": seen(r.active, r.in_before),
        **{f"{kind}_cur": seen(r[f"{kind}_days"], r.in_cur) for kind in KINDS},
        **{f"{kind}_prev": seen(r[f"{kind}_days"], r.in_prev) for kind in KINDS},
    }
    per_shopper = (
        select(r.shopper_id, *(flag.label(name) for name, flag in flags.items()))
        .group_by(r.shopper_id)
        .subquery()
    )
    f, s = per_shopper.c, shopper_table
    sums = {name: func.sum(f[name]) for name in flags}
    sums["returning"] = func.sum(f.c * f.p)
    sums["returning_prev"] = func.sum(f.p * f.b)
    sums["new"] = func.sum(case((and_(new_in["cur"], f.c == 1), 1), else_=0))
    sums["new_prev"] = func.sum(case((and_(new_in["prev"], f.p == 1), 1), else_=0))
    return select(*(value.label(f"n_{name}") for name, value in sums.items())).select_from(
        per_shopper.join(s, s.c.id == f.shopper_id))


def active_per_month_query(*, tenant_id: int, span: Span, group: Any, where: Any, shopper_table: Any) -> Any:
    """Shoppers who earned or redeemed in each month of the span (their days inside it), by ``group``.

    ``group`` and ``where`` are expressions on ``shopper_table`` (e.g. the sign-up month).
    """
    active_days = sm.c.earn_days.bitwise_or(sm.c.redeem_days).bitwise_and(month_mask(span))
    return (
        select(sm.c.month, group, func.count().label("shoppers"))
        .select_from(sm.join(shopper_table, shopper_table.c.id == sm.c.shopper_id))
        .where(sm.c.tenant_id == tenant_id, sm.c.month.between(span.start.replace(day=1), span.end.replace(day=1)),
               active_days != 0, where)
        .group_by(sm.c.month, group)
    )
