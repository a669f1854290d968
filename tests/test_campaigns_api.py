"""Campaign administration over HTTP: CRUD, funding, preview, audit, roles, bad input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.fixtures.campaigns import campaign_rows, create_campaign, fund_campaign, funded_campaign
from tests.fixtures.factories import new_key
from tests.fixtures.ledger import assert_problem
from tests.fixtures.till import API, writes


async def _audit(client, world, **params):
    response = await client.get(f"{API}/audit", params=params, headers=world.headers("auditor"))
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_create_change_stop_fund_are_audited_with_before_and_after(client, world):
    campaign = await create_campaign(client, world, name="Lente", villages=["Meerdonk"], ends_at="2030-01-01T00:00:00")
    assert campaign["status"] == "running" and campaign["budget"]["left"] == 0
    # Naive input is Brussels time.
    assert datetime.fromisoformat(campaign["ends_at"]) == datetime(2029, 12, 31, 23, tzinfo=UTC)
    patch = await client.patch(
        f"{API}/campaigns/{campaign['id']}", json={"multiplier_percent": 300}, headers=world.headers("admin")
    )
    assert patch.status_code == 200 and patch.json()["multiplier_percent"] == 300
    await client.post(f"{API}/campaigns/{campaign['id']}/stop", headers=world.headers("admin"))
    key = new_key("fund")
    first = await fund_campaign(client, world, campaign["id"], 500, key=key)
    again = await fund_campaign(client, world, campaign["id"], 500, key=key)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert first.json()["transfer_id"] == again.json()["transfer_id"] and again.json()["budget_left"] == 500
    events = await _audit(client, world, entity_type="campaign")
    assert [e["action"] for e in events] == ["campaign.fund", "campaign.stop", "campaign.update", "campaign.create"]
    update = events[2]
    assert update["before"] == {"multiplier_percent": 200} and update["after"] == {"multiplier_percent": 300}
    assert update["actor_user_id"] == world.users["admin"].id and update["entity_id"] == str(campaign["id"])
    assert events[0]["after"]["points"] == 500
    listed = await client.get(f"{API}/campaigns", headers=world.headers("auditor"))
    assert [c["id"] for c in listed.json()["items"]] == [campaign["id"]]


async def test_preview_a_25_euro_purchase_at_the_bakery_on_saturday(client, world):
    await funded_campaign(client, world, 1000, name="Zaterdag", weekdays=[6], multiplier_percent=150)
    await funded_campaign(client, world, 5, name="Klein budget", multiplier_percent=None, fixed_points=10)
    await funded_campaign(client, world, 1000, name="Boeken", categories=["books"])
    body = {"merchant_id": world.bakery.id, "purchase_cents": 2500, "at": "2026-12-05T11:00:00"}
    response = await client.post(f"{API}/campaigns/preview", json=body, headers=world.headers("auditor"))
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["base_points"] == 25 and preview["rate"] == 1
    assert [(b["campaign_name"], b["bonus_points"], b["paid_points"]) for b in preview["bonuses"]] == [
        ("Zaterdag", 12, 12),
        ("Klein budget", 10, 5),
    ]
    assert preview["total_points"] == 42 and "down" in preview["rounding"]
    sunday = await client.post(
        f"{API}/campaigns/preview", json={**body, "at": "2026-12-06T11:00:00"}, headers=world.headers("admin")
    )
    assert [b["campaign_name"] for b in sunday.json()["bonuses"]] == ["Klein budget"]


async def test_welcome_bonus_on_sign_up(client, world, sessionmaker):
    from tests.fixtures.wallets import sign_up

    await funded_campaign(client, world, 1000, name="Welkom", trigger="signup", multiplier_percent=None, fixed_points=50)
    shopper = await sign_up(client, sessionmaker, world.tenant)
    wallet = await client.get(f"{API}/me/wallet", headers=shopper.headers)
    assert wallet.json()["balance"] == 50
    history = (await client.get(f"{API}/me/history", headers=shopper.headers)).json()["items"]
    assert [(h["kind"], h["points"], h["campaign_name"]) for h in history] == [("bonus", 50, "Welkom")]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "X1", "multiplier_percent": 200, "fixed_points": 5}, "invalid_campaign"),
        ({"name": "X2"}, "invalid_campaign"),
        ({"name": "X3", "multiplier_percent": 100}, "validation_error"),
        ({"name": "X4", "multiplier_percent": 200, "categories": ["spaceships"]}, "validation_error"),
        ({"name": "X5", "multiplier_percent": 200, "weekdays": [0]}, "validation_error"),
        ({"name": "X6", "multiplier_percent": 200, "starts_at": "2027-01-02T00:00:00", "ends_at": "2027-01-01T00:00:00"}, "invalid_campaign"),
        ({"name": "X7", "multiplier_percent": 200, "merchant_ids": [987654321]}, "unknown_merchant"),
        ({"name": "X8", "trigger": "signup", "multiplier_percent": 200}, "invalid_campaign"),
        ({"name": "X9", "multiplier_percent": 200, "colour": "red"}, "validation_error"),
    ],
)
async def test_bad_campaigns_are_refused_and_write_nothing(client, world, sessionmaker, body, code):
    before = (await campaign_rows(sessionmaker, world.tenant.id), await writes(sessionmaker, world.tenant.id))
    response = await client.post(f"{API}/campaigns", json=body, headers=world.headers("admin"))
    assert_problem(response, 422, code)
    assert (await campaign_rows(sessionmaker, world.tenant.id), await writes(sessionmaker, world.tenant.id)) == before


async def test_auditor_reads_but_cannot_change_and_merchants_cannot_reach(client, world, sessionmaker):
    campaign = await create_campaign(client, world)
    before = await campaign_rows(sessionmaker, world.tenant.id)
    key = {"Idempotency-Key": new_key("fund")}
    for who in ("auditor", "owner", "cashier", "shopper"):
        for method, path, body in (
            ("POST", "/campaigns", {"name": "Nope", "multiplier_percent": 200}),
            ("PATCH", f"/campaigns/{campaign['id']}", {"name": "Nope"}),
            ("POST", f"/campaigns/{campaign['id']}/stop", None),
            ("POST", f"/campaigns/{campaign['id']}/fund", {"points": 5}),
        ):
            response = await client.request(method, f"{API}{path}", json=body, headers=world.headers(who, **key))
            assert_problem(response, 403, "forbidden")
    for who in ("owner", "cashier", "shopper"):
        assert_problem(await client.get(f"{API}/campaigns", headers=world.headers(who)), 403)
        assert_problem(await client.get(f"{API}/audit", headers=world.headers(who)), 403)
    assert (await client.get(f"{API}/campaigns/{campaign['id']}", headers=world.headers("auditor"))).status_code == 200
    assert await campaign_rows(sessionmaker, world.tenant.id) == before


async def test_other_tenants_campaign_is_a_404(client, world, sessionmaker):
    from tests.fixtures.factories import make_world

    other = await make_world(sessionmaker, client, float_points=0)
    campaign = await create_campaign(client, other)
    assert_problem(await client.get(f"{API}/campaigns/{campaign['id']}", headers=world.headers("admin")), 404, "campaign_not_found")
    response = await client.post(
        f"{API}/campaigns/{campaign['id']}/fund", json={"points": 5},
        headers=world.headers("admin", **{"Idempotency-Key": new_key("fund")}),
    )
    assert_problem(response, 404, "campaign_not_found")
    bad = await client.post(f"{API}/campaigns/{campaign['id']}/fund", json={"points": 0}, headers=world.headers("admin", **{"Idempotency-Key": new_key()}))
    assert_problem(bad, 422)
