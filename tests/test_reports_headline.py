"""The monthly per-shopper rollup gives the same headline figures as counting purchase rows.

A random stream of earns, redemptions, bonuses, expiries and (partial) reversals over
five months, then many periods (one day, a month edge, whole months, a year) computed
both ways: ``headline`` (shopper months + edge days) and the activity-row scan the
filtered dashboard still uses.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from sqlalchemy import update

from backend.core.db import transaction
from backend.reports import headline, shopper_months
from backend.reports.models import ReportShopperMonth
from backend.reports.rollup import check
from backend.reports.scope import Scope
from backend.reports.service import POINT_KINDS, _scanned_figures, s, summary, utc_start
from tests.reports_data import random_stream

PEOPLE = 7


async def _random_town(world, sessionmaker, *, steps: int = 160, seed: int = 11) -> None:
    # About five months from late January, crossing month ends at all hours (Brussels days,
    # the change to summer time included); shoppers join every 20 days.
    await random_stream(sessionmaker, world.tenant, seed=seed, people=PEOPLE, steps=steps,
                        start=datetime(2026, 1, 27, 7), minutes_apart=1301, joined_every_days=20)


def _periods() -> list[tuple[date, date]]:
    rng = random.Random(3)
    fixed = [
        (date(2026, 3, 1), date(2026, 3, 31)),  # a whole month
        (date(2026, 2, 28), date(2026, 3, 1)),  # across a month end
        (date(2026, 3, 31), date(2026, 3, 31)),  # one day, the month's last
        (date(2026, 1, 1), date(2026, 12, 31)),  # a year, whole months
        (date(2025, 6, 9), date(2026, 6, 8)),  # 365 days, partial months at both ends
        (date(2026, 2, 3), date(2026, 4, 29)),
    ]
    drawn = []
    for _ in range(14):
        start = date(2026, 1, 15) + timedelta(days=rng.randrange(150))
        drawn.append((start, start + timedelta(days=rng.choice([0, 1, 6, 13, 27, 30, 45, 90]))))
    return fixed + drawn


async def test_headline_equals_the_row_scan_for_many_periods(world, sessionmaker) -> None:
    await _random_town(world, sessionmaker)
    tenant_id = world.tenant.id
    compared = 0
    async with sessionmaker() as session:
        assert (await check(session, tenant_id=tenant_id)).ok
        for start, end in _periods():
            scope = Scope(tenant_id, start, end)
            prev = scope.previous()
            before = prev.previous()
            cur_new = (s.c.created_at >= utc_start(start)) & (s.c.created_at < utc_start(end + timedelta(days=1)))
            prev_new = (s.c.created_at >= utc_start(prev.start)) & (
                s.c.created_at < utc_start(prev.end + timedelta(days=1)))
            scanned_sums, scanned_people = await _scanned_figures(session, scope, prev, before, cur_new=cur_new,
                                                                  prev_new=prev_new)
            spans = {"cur": headline.Span(start, end), "prev": headline.Span(prev.start, prev.end)}
            # "today" only steers which way a partial month is read; both ways must agree.
            for today in (date(2026, 1, 20), date(2026, 3, 16), date(2027, 1, 1)):
                sums = await headline.kind_sums(session, tenant_id=tenant_id, spans=spans, today=today)
                for which in ("cur", "prev"):
                    for kind in POINT_KINDS:
                        assert sums[(which, kind)] == scanned_sums[(which, kind)], (start, end, today, which, kind)
            people = await headline.shopper_counts(
                session, tenant_id=tenant_id, cur=headline.Span(start, end), prev=headline.Span(prev.start, prev.end),
                before=headline.Span(before.start, before.end), shopper_table=s,
                new_in={"cur": cur_new, "prev": prev_new})
            assert people == {**people, **scanned_people}, (start, end)
            compared += sum(1 for value in scanned_people.values() if value)
    assert compared > 100  # the stream is dense enough that the counts mean something


async def test_summary_of_a_year_counts_every_shopper_who_earned_or_redeemed(world, sessionmaker) -> None:
    from sqlalchemy import func, select

    from backend.reports.models import ReportActivity as act

    await _random_town(world, sessionmaker, steps=60, seed=5)
    async with sessionmaker() as session:
        table = await summary(session, Scope(world.tenant.id, date(2025, 6, 1), date(2026, 5, 31)), k=1)
        active = await session.scalar(select(func.count(act.shopper_id.distinct())).where(
            act.tenant_id == world.tenant.id, act.kind.in_(["earn", "redeem"]), act.points != 0))
    figures = {row["figure"]: row["value"] for row in table.rows}
    assert figures["purchases"] > 10 and figures["active_shoppers"] == active >= PEOPLE - 2


def test_split_cuts_periods_into_whole_months_and_edges() -> None:
    span = headline.Span
    assert headline.split(span(date(2026, 3, 1), date(2026, 3, 31))) == ((date(2026, 3, 1), date(2026, 3, 1)), [])
    assert headline.split(span(date(2026, 3, 2), date(2026, 3, 31))) == (None, [span(date(2026, 3, 2),
                                                                                    date(2026, 3, 31))])
    assert headline.split(span(date(2026, 2, 27), date(2026, 5, 2))) == (
        (date(2026, 3, 1), date(2026, 4, 1)), [span(date(2026, 2, 27), date(2026, 2, 28)),
                                               span(date(2026, 5, 1), date(2026, 5, 2))])
    assert headline.split(span(date(2026, 4, 12), date(2026, 5, 27))) == (None, [
        span(date(2026, 4, 12), date(2026, 4, 30)), span(date(2026, 5, 1), date(2026, 5, 27))])
    assert headline.split(span(date(2026, 1, 1), date(2026, 2, 28))) == ((date(2026, 1, 1), date(2026, 2, 1)), [])
    # A partial month is read day by day, or as its whole month minus the other days, whichever is less.
    march = span(date(2026, 3, 4), date(2026, 3, 31))
    assert headline.plan(march, today=date(2026, 12, 1)) == [
        (1, "months", date(2026, 3, 1), date(2026, 3, 1)), (-1, "days", date(2026, 3, 1), date(2026, 3, 3))]
    assert headline.plan(span(date(2026, 3, 4), date(2026, 3, 10)), today=date(2026, 12, 1)) == [
        (1, "days", date(2026, 3, 4), date(2026, 3, 10))]
    # Days after today hold nothing, so a month so far minus them costs nothing.
    assert headline.plan(span(date(2026, 3, 1), date(2026, 3, 10)), today=date(2026, 3, 10)) == [
        (1, "months", date(2026, 3, 1), date(2026, 3, 1)), (-1, "days", date(2026, 3, 11), date(2026, 3, 31))]
    assert shopper_months.days_mask(1, 31) == shopper_months.ALL_DAYS
    assert shopper_months.days_mask(3, 4) == 0b1100


async def test_check_finds_a_tampered_shopper_month_and_rebuild_repairs_it(world, sessionmaker) -> None:
    await _random_town(world, sessionmaker, steps=40, seed=2)
    m = ReportShopperMonth
    async with transaction(sessionmaker) as session:
        await session.execute(update(m).where(m.tenant_id == world.tenant.id).values(earn_days=m.earn_days.op("|")(1)))
    async with sessionmaker() as session:
        report = await check(session, tenant_id=world.tenant.id)
    assert not report.ok and report.differences[0].startswith("shopper month")
    async with transaction(sessionmaker) as session:
        assert await shopper_months.rebuild_from_activity(session, tenant_id=world.tenant.id) > 0
    async with sessionmaker() as session:
        report = await check(session, tenant_id=world.tenant.id)
    assert report.ok, report.differences


async def test_retention_from_monthly_rows_equals_counting_purchases(world, sessionmaker) -> None:
    from sqlalchemy import select

    from backend.reports.models import ReportActivity
    from backend.reports.rollup import BRUSSELS
    from backend.reports.service import retention
    from backend.wallets.models import Shopper

    await _random_town(world, sessionmaker)
    act = ReportActivity
    for start, end in [(date(2026, 1, 1), date(2026, 6, 30)), (date(2026, 2, 10), date(2026, 4, 20))]:
        async with sessionmaker() as session:
            table = await retention(session, Scope(world.tenant.id, start, end), k=1)
            joined = {row.id: row.created_at.astimezone(BRUSSELS).strftime("%Y-%m") for row in await session.execute(
                select(Shopper.id, Shopper.created_at).where(Shopper.tenant_id == world.tenant.id))}
            seen = {(row.day.strftime("%Y-%m"), row.shopper_id) for row in await session.execute(
                select(act.day, act.shopper_id).where(act.tenant_id == world.tenant.id, act.kind.in_(["earn", "redeem"]),
                                                      act.points != 0, act.day.between(start, end)))}
        expected: dict[tuple[str, str], int] = {}
        for month, shopper_id in seen:
            cohort = joined[shopper_id]
            if start.replace(day=1).strftime("%Y-%m") <= cohort <= end.strftime("%Y-%m"):
                expected[(cohort, month)] = expected.get((cohort, month), 0) + 1
        assert {(row["cohort"], row["month"]): row["active"] for row in table.rows} == expected
        assert len(expected) > 5
