"""Who may read the dashboard and the merchant insight, and who may change anything."""

from __future__ import annotations

import pytest

from tests.fixtures.factories import World

DASHBOARD = ["summary", "spend-per-week", "fun-run", "villages", "heatmap", "circulation", "top-merchants",
             "retention", "campaigns", "settings", "check"]


@pytest.mark.parametrize("who", ["owner", "cashier", "shopper"])
async def test_merchants_and_shoppers_cannot_reach_the_dashboard(client, world: World, who: str) -> None:
    for path in DASHBOARD:
        response = await client.get(f"/api/v1/reports/{path}", headers=world.headers(who))
        assert response.status_code == 403, (path, response.text)
    response = await client.get("/api/v1/reports/summary", params={"format": "csv"}, headers=world.headers(who))
    assert response.status_code == 403


async def test_anonymous_callers_are_refused(client, world: World) -> None:
    assert (await client.get("/api/v1/reports/summary")).status_code == 401


@pytest.mark.parametrize("who", ["admin", "auditor"])
async def test_admin_and_auditor_read_everything(client, world: World, who: str) -> None:
    for path in DASHBOARD:
        response = await client.get(f"/api/v1/reports/{path}", headers=world.headers(who))
        assert response.status_code == 200, (path, response.text)


async def test_auditor_cannot_change_the_settings(client, world: World) -> None:
    response = await client.put("/api/v1/reports/settings", json={"k_anonymity": 3}, headers=world.headers("auditor"))
    assert response.status_code == 403
    response = await client.get("/api/v1/reports/settings", headers=world.headers("auditor"))
    assert response.json() == {"k_anonymity": 5}


async def test_a_shop_of_another_municipality_is_not_found(client, world: World, sessionmaker) -> None:
    from tests.fixtures.factories import make_world

    other = await make_world(sessionmaker, client, float_points=0)
    response = await client.get("/api/v1/reports/summary", params={"merchant_id": other.bakery.id},
                                headers=world.headers("admin"))
    assert response.status_code == 404
    assert response.json()["code"] == "merchant_not_found"


async def test_bad_periods_are_problems(client, world: World) -> None:
    response = await client.get("/api/v1/reports/summary", params={"from": "2026-03-10", "to": "2026-03-01"},
                                headers=world.headers("admin"))
    assert response.status_code == 422 and response.json()["code"] == "invalid_period"
    response = await client.get("/api/v1/reports/summary", params={"from": "2020-01-01", "to": "2026-03-01"},
                                headers=world.headers("admin"))
    assert response.status_code == 422


async def test_merchant_insight_only_for_the_own_shop(client, world: World, sessionmaker) -> None:
    own = await client.get(f"/api/v1/merchants/{world.bakery.id}/insight", headers=world.headers("owner"))
    assert own.status_code == 200, own.text
    assert own.json()["merchant"]["id"] == world.bakery.id
    other = await client.get(f"/api/v1/merchants/{world.shop.id}/insight", headers=world.headers("owner"))
    assert other.status_code == 403
    for who in ("cashier", "shopper"):
        response = await client.get(f"/api/v1/merchants/{world.bakery.id}/insight", headers=world.headers(who))
        assert response.status_code == 403
    for who in ("admin", "auditor"):
        response = await client.get(f"/api/v1/merchants/{world.shop.id}/insight", headers=world.headers(who))
        assert response.status_code == 200
    from tests.fixtures.factories import make_world

    stranger = await make_world(sessionmaker, client, float_points=0)
    response = await client.get(f"/api/v1/merchants/{stranger.bakery.id}/insight", headers=world.headers("admin"))
    assert response.status_code == 404


async def test_insight_page_is_served_in_three_languages(client) -> None:
    for lang, title in (("nl", "Inzicht in mijn zaak"), ("fr", "Aperçu de mon commerce"), ("en", "Insight into my shop")):
        response = await client.get("/merchant/insight", headers={"Accept-Language": lang})
        assert response.status_code == 200
        assert title in response.text and "/merchant/static/insight.js" in response.text
