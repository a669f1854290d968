"""Merchant insight: a shop's own figures next to the town average of its category.

Never another shop's figures: the town average is only shown when at least
``MIN_PEERS`` other shops of the category were active in the period, and the "where do
my customers also shop" table counts categories, never shops, and hides a category
where those customers visited fewer than two other shops. k-anonymity applies to every
figure that describes shoppers.
"""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.merchants.models import Merchant
from backend.reports.privacy import guard, suppress
from backend.reports.scope import Scope, a, activity, m, with_shop_ids
from backend.reports.service import Table, _int

MIN_PEERS = 3


async def _per_shop(session: AsyncSession, scope: Scope, category: str) -> dict[int, dict[str, int]]:
    """Figures of every shop of ``category`` in the period (used for the shop and the average)."""
    peers = await with_shop_ids(session, Scope(scope.tenant_id, scope.start, scope.end, category=category))
    result: dict[int, dict[str, int]] = {}
    rows = await session.execute(
        activity(peers, ("earn", "bonus", "redeem"), a.c.merchant_id, a.c.kind, func.sum(a.c.n).label("n"),
                 func.sum(a.c.cents).label("cents"), func.sum(a.c.points).label("points"),
                 func.count(a.c.shopper_id.distinct()).label("shoppers"))
        .group_by(a.c.merchant_id, a.c.kind)
    )
    for row in rows:
        shop = result.setdefault(row.merchant_id, {"spend_cents": 0, "visits": 0, "customers": 0, "returning": 0,
                                                   "points_issued": 0, "points_accepted": 0})
        if row.kind == "earn":
            shop.update(spend_cents=_int(row.cents), visits=_int(row.n), customers=_int(row.shoppers))
            shop["points_issued"] += _int(row.points)
        elif row.kind == "bonus":
            shop["points_issued"] += _int(row.points)
        else:
            shop["points_accepted"] = _int(row.points)
    prev = peers.previous()
    in_cur = func.max(case((a.c.day >= scope.start, 1), else_=0)).label("c")
    in_prev = func.max(case((a.c.day < scope.start, 1), else_=0)).label("p")
    pairs = activity(peers, ("earn",), a.c.merchant_id, a.c.shopper_id, in_cur, in_prev, start=prev.start).group_by(
        a.c.merchant_id, a.c.shopper_id).subquery()
    for row in await session.execute(
        select(pairs.c.merchant_id, func.sum(pairs.c.c * pairs.c.p)).group_by(pairs.c.merchant_id)
    ):
        if row[0] in result:
            result[row[0]]["returning"] = _int(row[1])
    return result


FIGURES = (("spend_cents", "cents"), ("visits", "count"), ("average_basket_cents", "cents"),
           ("customers", "shoppers"), ("returning", "shoppers"), ("points_issued", "points"),
           ("points_accepted", "points"))


async def insight(session: AsyncSession, scope: Scope, merchant: Merchant, *, k: int) -> tuple[Table, Table]:
    shops = await _per_shop(session, scope, merchant.category)
    own = shops.get(merchant.id, {"spend_cents": 0, "visits": 0, "customers": 0, "returning": 0,
                                  "points_issued": 0, "points_accepted": 0})
    own["average_basket_cents"] = own["spend_cents"] // own["visits"] if own["visits"] else 0
    peers = [figures for shop_id, figures in shops.items() if shop_id != merchant.id and figures["visits"] > 0]
    average: dict[str, int | None] = {}
    if len(peers) >= MIN_PEERS:
        for name, _unit in FIGURES:
            if name == "average_basket_cents":
                visits = sum(p["visits"] for p in peers)
                average[name] = sum(p["spend_cents"] for p in peers) // visits if visits else 0
            else:
                average[name] = sum(p[name] for p in peers) // len(peers)
    peer_customers = sum(p["customers"] for p in peers)
    rows = []
    for name, unit in FIGURES:
        people = own["returning"] if name == "returning" else own["customers"]
        value = guard(own[name], shoppers=people, k=k)
        town = average.get(name)
        if town is not None and 0 < peer_customers < k:
            town = None
        rows.append({"figure": name, "unit": unit, "value": value, "town_average": town,
                     "suppressed": value is None})
    figures = Table("insight", ["figure", "unit", "value", "town_average", "suppressed"], rows,
                    [f"town_average: the mean over the other shops of category {merchant.category} with purchases "
                     f"in the period, shown when there are at least {MIN_PEERS} of them"],
                    {"peer_shops": len(peers)})
    return figures, await also_shop(session, scope, merchant, k=k)


async def also_shop(session: AsyncSession, scope: Scope, merchant: Merchant, *, k: int) -> Table:
    customers = activity(Scope(scope.tenant_id, scope.start, scope.end), ("earn",), a.c.shopper_id).where(
        a.c.merchant_id == merchant.id).distinct().subquery()
    elsewhere = Scope(scope.tenant_id, scope.start, scope.end)
    result = await session.execute(
        activity(elsewhere, ("earn",), m.c.category, func.count(a.c.shopper_id.distinct()).label("shoppers"),
                 func.sum(a.c.n).label("purchases"), func.sum(a.c.cents).label("spend_cents"),
                 func.count(a.c.merchant_id.distinct()).label("shops"), join_merchant=True)
        .where(a.c.merchant_id != merchant.id, a.c.shopper_id.in_(select(customers.c.shopper_id)))
        .group_by(m.c.category).order_by(m.c.category)
    )
    rows, single_shop = [], []
    for r in result:
        rows.append({"category": r.category, "purchases": _int(r.purchases), "spend_cents": _int(r.spend_cents),
                     "shoppers": r.shoppers})
        single_shop.append(r.shops < 2)  # one other shop: its figures would be that shop's own
    suppress(rows, k=k, measures=("purchases", "spend_cents"))
    for row, alone in zip(rows, single_shop, strict=True):
        if alone:
            row.update(purchases=None, spend_cents=None, shoppers=None, suppressed=True)
    return Table("insight-also-shop", ["category", "purchases", "spend_cents", "shoppers", "suppressed"], rows,
                 ["what this shop's customers of the period bought at other shops, by category; a category is "
                  "hidden when they went to fewer than two other shops of it"])
