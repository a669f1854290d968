"""Dashboard figures and charts, computed from the activity rollup with k-anonymity applied.

Every function returns a ``Table``: named columns and rows (one dict per cell, long
format, so every chart exports to CSV the same way). Money is integer cents, points are
integers; ``shoppers`` is the number of distinct shoppers a cell describes and is itself
blanked when the cell is suppressed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.types import utcnow
from backend.ledger.models import Account, AccountBalance, AccountType, Transfer
from backend.reports import headline
from backend.reports.privacy import guard, suppress
from backend.reports.rollup import BRUSSELS
from backend.reports.scope import Scope, a, activity, m, shopping_kind_expr
from backend.tenants.models import Tenant
from backend.wallets.models import Shopper

s = Shopper.__table__
ACTIVE_KINDS = ("earn", "redeem")
ISSUE_KINDS = ("earn", "bonus")
POINT_KINDS = ("earn", "bonus", "redeem", "expiry")


@dataclass
class Table:
    report: str
    columns: list[str]
    rows: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def utc_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=BRUSSELS).astimezone(UTC)


def _int(value: Any) -> int:
    return int(value or 0)


shoppers_col = func.count(a.c.shopper_id.distinct()).label("shoppers")
purchases_col = func.sum(a.c.n).label("purchases")
cents_col = func.sum(a.c.cents).label("spend_cents")
points_col = func.sum(a.c.points).label("points")


# --- headline figures ------------------------------------------------------------------------


async def summary(session: AsyncSession, scope: Scope, *, k: int) -> Table:
    prev = scope.previous()
    before = prev.previous()
    periods = {"cur": headline.Span(scope.start, scope.end), "prev": headline.Span(prev.start, prev.end)}
    tail = headline.Span(scope.end + timedelta(days=1), headline.FAR_FUTURE)
    # Town-wide sums per kind (the outstanding points are town-wide whatever the filters).
    town = await headline.kind_sums(session, tenant_id=scope.tenant_id, today=utcnow().astimezone(BRUSSELS).date(),
                                    spans={**(periods if not scope.filtered else {"cur": periods["cur"]}), "tail": tail})
    cur_new = (s.c.created_at >= utc_start(scope.start)) & (s.c.created_at < utc_start(scope.end + timedelta(days=1)))
    prev_new = (s.c.created_at >= utc_start(prev.start)) & (s.c.created_at < utc_start(prev.end + timedelta(days=1)))
    if scope.filtered:
        sums, people = await _scanned_figures(session, scope, prev, before, cur_new=cur_new, prev_new=prev_new)
    else:
        sums = {key: value for key, value in town.items() if key[0] != "tail"}
        people = await headline.shopper_counts(
            session, tenant_id=scope.tenant_id, cur=periods["cur"], prev=periods["prev"],
            before=headline.Span(before.start, before.end), shopper_table=s, new_in={"cur": cur_new, "prev": prev_new})

    def get(kind: str, which: str, column: str) -> int:
        if column == "shoppers":
            return people[f"{kind}_{which}"]
        return sums[(which, kind)][column]

    active, active_prev, returning, returning_prev, new, new_prev = (
        people[name] for name in ("c", "p", "returning", "returning_prev", "new", "new_prev"))
    tenant = await session.get(Tenant, scope.tenant_id)
    point_value = tenant.point_value_cents if tenant else 1
    outstanding_now = _int(
        (
            await session.execute(
                select(func.sum(AccountBalance.balance))
                .join(Account, Account.id == AccountBalance.account_id)
                .where(AccountBalance.tenant_id == scope.tenant_id, Account.type == AccountType.SHOPPER_WALLET.value)
            )
        ).scalar()
    )
    net_cur = {kind: town[("tail", kind)]["points"] for kind in headline.KINDS}
    net_after = {kind: town[("cur", kind)]["points"] + net_cur[kind] for kind in headline.KINDS}

    def back_off(net: dict[str, int]) -> int:
        return outstanding_now - net.get("earn", 0) - net.get("bonus", 0) + net.get("redeem", 0) + net.get("expiry", 0)

    outstanding, outstanding_prev = back_off(net_cur), back_off(net_after)

    def figure(name: str, unit: str, cur: int | None, before_: int | None, cur_people: int, prev_people: int) -> dict:
        value = guard(cur, shoppers=cur_people, k=k)
        previous = guard(before_, shoppers=prev_people, k=k)
        return {"figure": name, "unit": unit, "value": value, "previous": previous,
                "suppressed": value is None and cur is not None}

    def people_figure(name: str, cur: int, before_: int) -> dict:
        return figure(name, "shoppers", cur, before_, cur, before_)

    spend, spend_prev = get("earn", "cur", "spend_cents"), get("earn", "prev", "spend_cents")
    buys, buys_prev = get("earn", "cur", "purchases"), get("earn", "prev", "purchases")
    earners, earners_prev = get("earn", "cur", "shoppers"), get("earn", "prev", "shoppers")
    issuers = max(earners, get("bonus", "cur", "shoppers"))
    issuers_prev = max(earners_prev, get("bonus", "prev", "shoppers"))
    rows = [
        figure("local_spend", "cents", spend, spend_prev, earners, earners_prev),
        figure("purchases", "count", buys, buys_prev, earners, earners_prev),
        figure("average_basket", "cents", spend // buys if buys else 0, spend_prev // buys_prev if buys_prev else 0,
               earners, earners_prev),
        people_figure("active_shoppers", active, active_prev),
        people_figure("new_shoppers", new, new_prev),
        people_figure("returning_shoppers", returning, returning_prev),
        figure("points_issued", "points", get("earn", "cur", "points") + get("bonus", "cur", "points"),
               get("earn", "prev", "points") + get("bonus", "prev", "points"), issuers, issuers_prev),
        figure("points_redeemed", "points", get("redeem", "cur", "points"), get("redeem", "prev", "points"),
               get("redeem", "cur", "shoppers"), get("redeem", "prev", "shoppers")),
        figure("points_expired", "points", get("expiry", "cur", "points"), get("expiry", "prev", "points"),
               get("expiry", "cur", "shoppers"), get("expiry", "prev", "shoppers")),
        figure("campaign_budget_used", "points", get("bonus", "cur", "points"), get("bonus", "prev", "points"),
               get("bonus", "cur", "shoppers"), get("bonus", "prev", "shoppers")),
        figure("outstanding_points", "points", outstanding, outstanding_prev, 0, 0),
        figure("liability", "cents", outstanding * point_value, outstanding_prev * point_value, 0, 0),
    ]
    notes = ["outstanding_points and liability are municipality-wide at the end of each period; filters do not apply"]
    if scope.filtered:
        notes.append("points_expired belongs to no shop: it is 0 whenever a shop filter is set")
    return Table("summary", ["figure", "unit", "value", "previous", "suppressed"], rows, notes,
                 {"previous_period": {"from": prev.start.isoformat(), "to": prev.end.isoformat()}})


async def _scanned_figures(session: AsyncSession, scope: Scope, prev: Scope, before: Scope, *,
                           cur_new: Any, prev_new: Any) -> tuple[headline.Sums, dict[str, int]]:
    """The summary's sums and shopper counts for a filtered scope, from the activity rows."""
    period = case((a.c.day >= scope.start, "cur"), else_="prev").label("period")
    rows = await session.execute(
        activity(scope, POINT_KINDS, a.c.kind, period, purchases_col, cents_col, points_col, shoppers_col,
                 start=prev.start).group_by(a.c.kind, period)
    )
    sums: headline.Sums = {(which, kind): {"purchases": 0, "spend_cents": 0, "points": 0}
                           for which in ("cur", "prev") for kind in POINT_KINDS}
    people = {f"{kind}_{which}": 0 for which in ("cur", "prev") for kind in POINT_KINDS}
    for row in rows:
        earn = row.kind == "earn"  # purchases and spend belong to earns only
        sums[(row.period, row.kind)] = {"purchases": _int(row.purchases) if earn else 0,
                                        "spend_cents": _int(row.spend_cents) if earn else 0, "points": _int(row.points)}
        people[f"{row.kind}_{row.period}"] = _int(row.shoppers)
    in_cur = func.max(case((a.c.day >= scope.start, 1), else_=0))
    in_prev = func.max(case(((a.c.day >= prev.start) & (a.c.day <= prev.end), 1), else_=0))
    in_before = func.max(case((a.c.day < prev.start, 1), else_=0))
    per_shopper = (
        activity(scope, ACTIVE_KINDS, a.c.shopper_id, in_cur.label("c"), in_prev.label("p"), in_before.label("b"),
                 start=before.start)
        .group_by(a.c.shopper_id)
        .subquery()
    )
    counted = (
        await session.execute(
            select(
                func.sum(per_shopper.c.c), func.sum(per_shopper.c.p),
                func.sum(per_shopper.c.c * per_shopper.c.p), func.sum(per_shopper.c.p * per_shopper.c.b),
                func.sum(case((cur_new & (per_shopper.c.c == 1), 1), else_=0)),
                func.sum(case((prev_new & (per_shopper.c.p == 1), 1), else_=0)),
            ).select_from(per_shopper.join(s, s.c.id == per_shopper.c.shopper_id))
        )
    ).one()
    people.update(zip(("c", "p", "returning", "returning_prev", "new", "new_prev"), (_int(v) for v in counted),
                      strict=True))
    return sums, people


# --- charts ------------------------------------------------------------------------------------


async def spend_per_week(session: AsyncSession, scope: Scope, *, k: int) -> Table:
    result = await session.execute(
        activity(scope, ("earn",), a.c.week, purchases_col, cents_col, points_col, shoppers_col)
        .group_by(a.c.week).order_by(a.c.week)
    )
    rows = [{"week": r.week.isoformat(), "purchases": _int(r.purchases), "spend_cents": _int(r.spend_cents),
             "points_issued": _int(r.points), "shoppers": r.shoppers} for r in result]
    suppress(rows, k=k, measures=("purchases", "spend_cents", "points_issued"))
    return Table("spend-per-week", ["week", "purchases", "spend_cents", "points_issued", "shoppers", "suppressed"], rows,
                 ["week is the Monday; the first and last week only count the days inside the period"])


async def fun_run(session: AsyncSession, scope: Scope, *, k: int) -> Table:
    kind = shopping_kind_expr().label("shopping")
    result = await session.execute(
        activity(scope, ("earn",), a.c.week, kind, purchases_col, cents_col, shoppers_col, join_merchant=True)
        .group_by(a.c.week, kind).order_by(a.c.week, kind)
    )
    rows = [{"week": r.week.isoformat(), "shopping": r.shopping, "purchases": _int(r.purchases),
             "spend_cents": _int(r.spend_cents), "shoppers": r.shoppers} for r in result]
    suppress(rows, k=k, measures=("purchases", "spend_cents"),
             groupings=(lambda r: r["week"], lambda r: r["shopping"]))
    return Table("fun-run", ["week", "shopping", "purchases", "spend_cents", "shoppers", "suppressed"], rows,
                 ["shopping: run (bakery, butcher, grocery, pharmacy), fun (fashion, shoes, books, gifts, sports), "
                  "or the category itself (horeca, services)"])


async def villages(session: AsyncSession, scope: Scope, *, k: int) -> Table:
    home = func.coalesce(s.c.village, "").label("home_village")
    query = (
        activity(scope, ("earn",), home, m.c.village.label("shop_village"), purchases_col, cents_col, shoppers_col,
                 join_merchant=True)
        .join(s, s.c.id == a.c.shopper_id)
        .group_by(home, m.c.village).order_by(home, m.c.village)
    )
    rows = [{"home_village": r.home_village or "(unknown)", "shop_village": r.shop_village,
             "purchases": _int(r.purchases), "spend_cents": _int(r.spend_cents), "shoppers": r.shoppers}
            for r in await session.execute(query)]
    suppress(rows, k=k, measures=("purchases", "spend_cents"),
             groupings=(lambda r: r["home_village"], lambda r: r["shop_village"]))
    return Table("villages", ["home_village", "shop_village", "purchases", "spend_cents", "shoppers", "suppressed"], rows,
                 ["home_village is the shopper's own statement at sign-up; (unknown) when not given"])


async def heatmap(session: AsyncSession, scope: Scope, *, k: int) -> Table:
    result = await session.execute(
        activity(scope, ("earn",), a.c.weekday, a.c.hour, purchases_col, cents_col, shoppers_col)
        .group_by(a.c.weekday, a.c.hour).order_by(a.c.weekday, a.c.hour)
    )
    rows = [{"weekday": r.weekday, "hour": r.hour, "purchases": _int(r.purchases), "spend_cents": _int(r.spend_cents),
             "shoppers": r.shoppers} for r in result]
    suppress(rows, k=k, measures=("purchases", "spend_cents"))
    return Table("heatmap", ["weekday", "hour", "purchases", "spend_cents", "shoppers", "suppressed"], rows,
                 ["weekday 0 = Monday; hour is Europe/Brussels wall-clock time; hours without purchases are left out"])


async def circulation(session: AsyncSession, scope: Scope, *, k: int) -> Table:
    result = await session.execute(
        activity(scope, ("redeem",), a.c.source_category, m.c.category, func.sum(a.c.n).label("redemptions"),
                 points_col, shoppers_col, join_merchant=True)
        .group_by(a.c.source_category, m.c.category).order_by(a.c.source_category, m.c.category)
    )
    rows = [{"earned_category": r.source_category or "(none)", "spent_category": r.category,
             "redemptions": _int(r.redemptions), "points": _int(r.points), "shoppers": r.shoppers} for r in result]
    suppress(rows, k=k, measures=("redemptions", "points"),
             groupings=(lambda r: r["earned_category"], lambda r: r["spent_category"]))
    return Table("circulation", ["earned_category", "spent_category", "redemptions", "points", "shoppers", "suppressed"],
                 rows, ["points redeemed in the period at shops of spent_category, attributed to the category of the "
                        "shop where the same shopper last earned points at or before the redemption"])


async def top_merchants(session: AsyncSession, scope: Scope, *, k: int, limit: int = 10) -> Table:
    result = await session.execute(
        activity(scope, ("earn",), a.c.merchant_id, m.c.name, m.c.category, m.c.village, purchases_col, cents_col,
                 points_col, shoppers_col, join_merchant=True)
        .group_by(a.c.merchant_id, m.c.name, m.c.category, m.c.village)
        .order_by(func.sum(a.c.cents).desc(), a.c.merchant_id).limit(limit)
    )
    rows = [{"rank": i + 1, "merchant_id": r.merchant_id, "name": r.name, "category": r.category, "village": r.village,
             "purchases": _int(r.purchases), "spend_cents": _int(r.spend_cents), "points_issued": _int(r.points),
             "shoppers": r.shoppers} for i, r in enumerate(result)]
    ids = [r["merchant_id"] for r in rows]
    redeemed = dict((await session.execute(
        activity(scope, ("redeem",), a.c.merchant_id, func.sum(a.c.points)).where(a.c.merchant_id.in_(ids))
        .group_by(a.c.merchant_id))).all()) if ids else {}
    for row in rows:
        row["points_redeemed"] = _int(redeemed.get(row["merchant_id"]))
    suppress(rows, k=k, measures=("purchases", "spend_cents", "points_issued", "points_redeemed"), groupings=())
    return Table("top-merchants", ["rank", "merchant_id", "name", "category", "village", "purchases", "spend_cents",
                                   "points_issued", "points_redeemed", "shoppers", "suppressed"], rows,
                 ["ranked by local spend registered; shops are public, so their names are shown"])


def _cohort_expr(dialect: str) -> Any:
    if dialect == "postgresql":
        return func.to_char(func.timezone("Europe/Brussels", s.c.created_at), "YYYY-MM")
    # SQLite keeps naive UTC: Brussels is UTC+2 at every month end from March to September,
    # UTC+1 at the others, which is exact for deciding the month.
    offset = case((func.strftime("%m", s.c.created_at).between("03", "09"), "+2 hours"), else_="+1 hours")
    return func.strftime("%Y-%m", s.c.created_at, offset)


async def retention(session: AsyncSession, scope: Scope, *, k: int) -> Table:
    cohort = _cohort_expr(session.bind.dialect.name).label("cohort")
    signed_up = (s.c.tenant_id == scope.tenant_id) & (s.c.created_at >= utc_start(scope.start.replace(day=1))) & (
        s.c.created_at < utc_start(scope.end + timedelta(days=1)))
    sizes = dict((await session.execute(select(cohort, func.count()).where(signed_up).group_by(cohort))).all())
    if scope.filtered:
        base = activity(scope, ACTIVE_KINDS, a.c.month, cohort, shoppers_col)
        query = base.join(s, s.c.id == a.c.shopper_id).where(signed_up).group_by(a.c.month, cohort)
    else:  # one row per shopper and month: no distinct count over purchases
        query = headline.active_per_month_query(tenant_id=scope.tenant_id, span=headline.Span(scope.start, scope.end),
                                                group=cohort, where=signed_up, shopper_table=s)
    rows = []
    for r in await session.execute(query):
        month = r.month.strftime("%Y-%m")
        y, mo = (int(x) for x in r.cohort.split("-"))
        since = (r.month.year - y) * 12 + r.month.month - mo
        size = _int(sizes.get(r.cohort))
        rows.append({"cohort": r.cohort, "month": month, "months_since_signup": since, "cohort_size": size,
                     "active": r.shoppers, "shoppers": r.shoppers,
                     "rate_pct": round(100 * r.shoppers / size, 1) if size else None})
    rows.sort(key=lambda r: (r["cohort"], r["month"]))
    for row in rows:
        if 0 < row["cohort_size"] < k:
            row["shoppers"] = 1  # a cohort smaller than k hides all its cells
    suppress(rows, k=k, measures=("active", "rate_pct", "cohort_size"), groupings=())
    return Table("retention", ["cohort", "month", "months_since_signup", "cohort_size", "active", "rate_pct",
                               "suppressed"], rows,
                 ["cohort: the Brussels month of sign-up (within the period); active: shoppers of the cohort who "
                  "earned or redeemed that month"])


# --- campaigns ----------------------------------------------------------------------------------


async def campaigns(session: AsyncSession, *, tenant_id: int) -> list[dict[str, Any]]:
    t = Transfer.__table__
    accounts = (await session.execute(
        select(Account.id, Account.code, Account.name).where(
            Account.tenant_id == tenant_id, Account.type == AccountType.CAMPAIGN_BUDGET.value).order_by(Account.id)
    )).all()
    found = []
    for account in accounts:
        row = (await session.execute(
            select(func.min(t.c.created_at), func.max(t.c.created_at), func.count(), func.sum(t.c.amount))
            .where(t.c.debit_account_id == account.id, t.c.kind == "bonus"))).one()
        found.append({
            "account_id": account.id, "code": account.code, "name": account.name,
            "start": row[0].astimezone(BRUSSELS).date().isoformat() if row[0] else None,
            "end": row[1].astimezone(BRUSSELS).date().isoformat() if row[1] else None,
            "bonuses": _int(row[2]), "bonus_points": _int(row[3]),
        })
    return found


async def _period_figures(session: AsyncSession, scope: Scope) -> dict[str, int]:
    row = (await session.execute(activity(scope, ("earn",), purchases_col, cents_col, shoppers_col))).one()
    return {"purchases": _int(row.purchases), "spend_cents": _int(row.spend_cents), "shoppers": _int(row.shoppers)}


def baseline_of(start: date, end: date) -> tuple[date, date]:
    """The same number of whole weeks right before the campaign: same weekday mix."""
    weeks = -(-((end - start).days + 1) // 7)
    return start - timedelta(days=7 * weeks), start - timedelta(days=1)


async def uplift(session: AsyncSession, scope: Scope, *, k: int, baseline: tuple[date, date] | None = None) -> Table:
    base_start, base_end = baseline or baseline_of(scope.start, scope.end)
    periods = [("campaign", scope), ("baseline", scope.shifted(base_start, base_end))]
    rows = []
    for name, period in periods:
        figures = await _period_figures(session, period)
        rows.append({"period": name, "from": period.start.isoformat(), "to": period.end.isoformat(), "days": period.days,
                     **figures, "spend_per_day_cents": figures["spend_cents"] // period.days,
                     "purchases_per_day_milli": figures["purchases"] * 1000 // period.days})
    suppress(rows, k=k, measures=("purchases", "spend_cents", "spend_per_day_cents", "purchases_per_day_milli"),
             groupings=())
    camp, base = rows
    uplift_pct = None
    if not camp["suppressed"] and not base["suppressed"] and base["spend_per_day_cents"]:
        uplift_pct = round(100 * (camp["spend_per_day_cents"] / base["spend_per_day_cents"] - 1), 1)
    return Table("campaign-uplift", ["period", "from", "to", "days", "purchases", "spend_cents", "shoppers",
                                     "spend_per_day_cents", "purchases_per_day_milli", "suppressed"], rows,
                 ["baseline: the same number of whole weeks right before the campaign, unless given",
                  "uplift_pct compares local spend per day"], {"uplift_pct": uplift_pct})

