"""Every dashboard metric against the hand-computed town of tests/reports_data.py (k = 1 here)."""

from __future__ import annotations

import pytest

from backend.core.db import transaction
from backend.reports.models import ReportSetting
from backend.reports.rollup import check
from tests.fixtures.factories import World
from tests.reports_data import hand_computed_town

PERIOD = {"from": "2026-03-02", "to": "2026-03-15"}


@pytest.fixture
async def town(world: World, sessionmaker):
    async with transaction(sessionmaker) as session:
        built = await hand_computed_town(session, world.tenant)
        session.add(ReportSetting(tenant_id=world.tenant.id, k_anonymity=1))
    return built


async def get(client, world: World, path: str, **params) -> dict:
    response = await client.get(f"/api/v1/reports/{path}", params={**PERIOD, **params}, headers=world.headers("auditor"))
    assert response.status_code == 200, response.text
    return response.json()


def strip(rows: list[dict], *drop: str) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in drop} for row in rows]


async def test_summary(client, world, town) -> None:
    body = await get(client, world, "summary")
    figures = {row["figure"]: (row["value"], row["previous"]) for row in body["rows"]}
    # world's own fixture earns nothing; its shoppers have empty wallets.
    assert figures == {
        "local_spend": (11500, 1000),
        "purchases": (4, 1),
        "average_basket": (2875, 1000),
        "active_shoppers": (3, 1),
        "new_shoppers": (1, 0),
        "returning_shoppers": (1, 0),
        "points_issued": (140, 10),
        "points_redeemed": (35, 0),
        "points_expired": (5, 0),
        "campaign_budget_used": (25, 0),
        "outstanding_points": (110, 10),
        "liability": (110, 10),
    }
    assert body["extra"]["previous_period"] == {"from": "2026-02-16", "to": "2026-03-01"}


async def test_summary_filtered_by_category(client, world, town) -> None:
    body = await get(client, world, "summary", category="fun")
    figures = {row["figure"]: row["value"] for row in body["rows"]}
    assert figures["local_spend"] == 8000 and figures["purchases"] == 2 and figures["active_shoppers"] == 3
    assert figures["points_redeemed"] == 35 and figures["points_expired"] == 0


async def test_spend_per_week(client, world, town) -> None:
    body = await get(client, world, "spend-per-week")
    assert strip(body["rows"], "suppressed") == [
        {"week": "2026-03-02", "purchases": 3, "spend_cents": 8500, "points_issued": 85, "shoppers": 3},
        {"week": "2026-03-09", "purchases": 1, "spend_cents": 3000, "points_issued": 30, "shoppers": 1},
    ]


async def test_fun_run(client, world, town) -> None:
    body = await get(client, world, "fun-run")
    assert strip(body["rows"], "suppressed") == [
        {"week": "2026-03-02", "shopping": "fun", "purchases": 1, "spend_cents": 5000, "shoppers": 1},
        {"week": "2026-03-02", "shopping": "run", "purchases": 2, "spend_cents": 3500, "shoppers": 2},
        {"week": "2026-03-09", "shopping": "fun", "purchases": 1, "spend_cents": 3000, "shoppers": 1},
    ]


async def test_villages(client, world, town) -> None:
    body = await get(client, world, "villages")
    assert strip(body["rows"], "suppressed") == [
        {"home_village": "Meerdonk", "shop_village": "Meerdonk", "purchases": 1, "spend_cents": 5000, "shoppers": 1},
        {"home_village": "Sint-Gillis", "shop_village": "Meerdonk", "purchases": 1, "spend_cents": 3000, "shoppers": 1},
        {"home_village": "Sint-Gillis", "shop_village": "Sint-Gillis", "purchases": 2, "spend_cents": 3500,
         "shoppers": 2},
    ]


async def test_heatmap_in_brussels_time(client, world, town) -> None:
    body = await get(client, world, "heatmap")
    assert strip(body["rows"], "suppressed") == [
        {"weekday": 1, "hour": 8, "purchases": 1, "spend_cents": 2000, "shoppers": 1},
        {"weekday": 3, "hour": 16, "purchases": 1, "spend_cents": 3000, "shoppers": 1},
        {"weekday": 5, "hour": 11, "purchases": 2, "spend_cents": 6500, "shoppers": 2},
    ]


async def test_circulation(client, world, town) -> None:
    body = await get(client, world, "circulation")
    assert strip(body["rows"], "suppressed") == [
        {"earned_category": "bakery", "spent_category": "books", "redemptions": 1, "points": 10, "shoppers": 1},
        {"earned_category": "books", "spent_category": "books", "redemptions": 1, "points": 25, "shoppers": 1},
    ]


async def test_top_merchants(client, world, town) -> None:
    body = await get(client, world, "top-merchants")
    rows = strip(body["rows"], "suppressed", "merchant_id")
    assert rows == [
        {"rank": 1, "name": "Boekhandel", "category": "books", "village": "Meerdonk", "purchases": 2,
         "spend_cents": 8000, "points_issued": 80, "points_redeemed": 35, "shoppers": 2},
        {"rank": 2, "name": "Bakkerij", "category": "bakery", "village": "Sint-Gillis", "purchases": 2,
         "spend_cents": 3500, "points_issued": 35, "points_redeemed": 0, "shoppers": 2},
    ]


async def test_retention(client, world, town) -> None:
    body = await get(client, world, "retention", **{"from": "2026-01-01"})
    assert [(r["cohort"], r["month"], r["months_since_signup"], r["cohort_size"], r["active"], r["rate_pct"])
            for r in body["rows"]] == [
        ("2026-01", "2026-02", 1, 1, 1, 100.0),
        ("2026-01", "2026-03", 2, 1, 1, 100.0),
        ("2026-02", "2026-03", 1, 1, 1, 100.0),
        ("2026-03", "2026-03", 0, 1, 1, 100.0),
    ]


async def test_campaign_uplift(client, world, town) -> None:
    campaigns = (await client.get("/api/v1/reports/campaigns", headers=world.headers("auditor"))).json()
    assert [(c["code"], c["start"], c["end"], c["bonus_points"]) for c in campaigns] == [
        ("campaign:lente", "2026-03-07", "2026-03-07", 25)]
    response = await client.get(f"/api/v1/reports/campaigns/{campaigns[0]['account_id']}/uplift",
                                headers=world.headers("auditor"))
    body = response.json()
    assert strip(body["rows"], "suppressed") == [
        {"period": "campaign", "from": "2026-03-07", "to": "2026-03-07", "days": 1, "purchases": 2,
         "spend_cents": 6500, "shoppers": 2, "spend_per_day_cents": 6500, "purchases_per_day_milli": 2000},
        {"period": "baseline", "from": "2026-02-28", "to": "2026-03-06", "days": 7, "purchases": 1,
         "spend_cents": 2000, "shoppers": 1, "spend_per_day_cents": 285, "purchases_per_day_milli": 142},
    ]
    assert body["extra"]["uplift_pct"] == 2180.7


async def test_csv_export(client, world, town) -> None:
    response = await client.get("/api/v1/reports/heatmap", params={**PERIOD, "format": "csv"},
                                headers=world.headers("admin"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.splitlines() == [
        "weekday,hour,purchases,spend_cents,shoppers,suppressed",
        "1,8,1,2000,1,false",
        "3,16,1,3000,1,false",
        "5,11,2,6500,2,false",
    ]


async def test_rollup_equals_recomputation(world, town, sessionmaker) -> None:
    async with sessionmaker() as session:
        report = await check(session, tenant_id=world.tenant.id)
    assert report.ok, report.differences
    assert report.rows > 0


async def test_merchant_insight(client, world, town) -> None:
    shop = town.merchants["Boekhandel"][0]
    response = await client.get(f"/api/v1/merchants/{shop.id}/insight", params=PERIOD, headers=world.headers("admin"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert {r["figure"]: r["value"] for r in body["rows"]} == {
        "spend_cents": 8000, "visits": 2, "average_basket_cents": 4000, "customers": 2, "returning": 0,
        "points_issued": 105, "points_accepted": 35}
    assert all(r["town_average"] is None for r in body["rows"])  # no other bookshop: no average
    # Its customers also bought at the one bakery: that would be the bakery's own figures.
    assert body["also_shop"] == [
        {"category": "bakery", "purchases": None, "spend_cents": None, "shoppers": None, "suppressed": True}]
