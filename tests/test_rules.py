"""Scheme rules through PATCH /tenant: validated, audited, never rewriting the past."""

from __future__ import annotations

import pytest

from tests.fixtures.campaigns import campaign_rows
from tests.fixtures.ledger import assert_problem
from tests.fixtures.till import API, keyed, transfer_row, wallet_qr


async def test_admin_sets_every_rule_and_the_change_is_audited(client, world):
    body = {
        "points_per_euro": 2,
        "category_points_per_euro": {"bakery": 3, "books": 5},
        "min_purchase_cents": 500,
        "daily_cap_points": 200,
        "points_expiry_days": 365,
        "hold_timeout_seconds": 600,
        "point_value_cents": 2,
    }
    response = await client.patch(f"{API}/tenant", json=body, headers=world.headers("admin"))
    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in body} == body
    removed = await client.patch(f"{API}/tenant", json={"daily_cap_points": None}, headers=world.headers("admin"))
    assert removed.json()["daily_cap_points"] is None
    events = (await client.get(f"{API}/audit?entity_type=tenant", headers=world.headers("auditor"))).json()["items"]
    assert [e["action"] for e in events] == ["tenant.update", "tenant.update"]
    assert events[0]["before"] == {"daily_cap_points": 200} and events[0]["after"] == {"daily_cap_points": None}
    assert events[1]["before"]["points_per_euro"] == 1 and events[1]["after"]["category_points_per_euro"] == {"bakery": 3, "books": 5}
    searched = (await client.get(f"{API}/audit", params={"q": "books"}, headers=world.headers("admin"))).json()["items"]
    assert [e["id"] for e in searched] == [events[1]["id"]]


async def test_changing_a_rule_never_changes_past_transfers(client, world, sessionmaker, app):
    qr = await wallet_qr(sessionmaker, world, app.state.settings)
    first = await client.post(f"{API}/till/earns", json={"scan": qr.qr_text, "purchase_cents": 1000}, headers=keyed(world))
    before = await transfer_row(sessionmaker, world.tenant.id, first.json()["transfer_id"])
    await client.patch(f"{API}/tenant", json={"points_per_euro": 4}, headers=world.headers("admin"))
    second = await client.post(f"{API}/till/earns", json={"scan": qr.qr_text, "purchase_cents": 1000}, headers=keyed(world))
    assert second.json()["points"] == 40
    after = await transfer_row(sessionmaker, world.tenant.id, first.json()["transfer_id"])
    assert (after.amount, after.meta) == (before.amount, before.meta) == (10, before.meta)
    assert after.meta["rate"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"category_points_per_euro": {"spaceships": 3}},
        {"category_points_per_euro": {"bakery": -1}},
        {"daily_cap_points": 0},
        {"min_purchase_cents": -5},
        {"points_expiry_days": 0},
        {"point_value_cents": "2"},
        {"undo_window_seconds": 5},
    ],
)
async def test_bad_rules_are_refused_and_nothing_changes(client, world, sessionmaker, body):
    before = (await client.get(f"{API}/tenant", headers=world.headers("admin"))).json()
    rows = await campaign_rows(sessionmaker, world.tenant.id)
    assert_problem(await client.patch(f"{API}/tenant", json=body, headers=world.headers("admin")), 422)
    assert (await client.get(f"{API}/tenant", headers=world.headers("admin"))).json() == before
    assert await campaign_rows(sessionmaker, world.tenant.id) == rows


async def test_auditor_and_merchants_cannot_change_rules(client, world):
    for who in ("auditor", "owner", "cashier"):
        assert_problem(await client.patch(f"{API}/tenant", json={"points_per_euro": 9}, headers=world.headers(who)), 403)
    assert (await client.get(f"{API}/tenant", headers=world.headers("admin"))).json()["points_per_euro"] == 1
