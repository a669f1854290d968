"""The audit trail: newest first, cursor pages, filters, tenant scope, roles."""

from __future__ import annotations

from tests.fixtures.campaigns import create_campaign
from tests.fixtures.factories import make_world
from tests.fixtures.ledger import assert_problem
from tests.fixtures.till import API


async def test_pages_filters_and_tenant_scope(client, world, sessionmaker):
    ids = [(await create_campaign(client, world, name=f"Actie {i}"))["id"] for i in range(3)]
    await client.patch(f"{API}/tenant", json={"points_per_euro": 3}, headers=world.headers("admin"))
    first = (await client.get(f"{API}/audit", params={"limit": 2}, headers=world.headers("auditor"))).json()
    assert [e["action"] for e in first["items"]] == ["tenant.update", "campaign.create"]
    second = (
        await client.get(f"{API}/audit", params={"limit": 2, "cursor": first["next_cursor"]}, headers=world.headers("auditor"))
    ).json()
    assert [e["entity_id"] for e in second["items"]] == [str(ids[1]), str(ids[0])] and second["next_cursor"] is None
    created = first["items"][1]["created_at"]
    assert (await client.get(f"{API}/audit", params={"from": created}, headers=world.headers("admin"))).json()["items"][-1]["entity_id"] == str(ids[2])
    assert (await client.get(f"{API}/audit", params={"to": "2000-01-01T00:00:00"}, headers=world.headers("admin"))).json()["items"] == []
    mine = await client.get(f"{API}/audit", params={"actor": world.users["admin"].id, "q": "actie 1"}, headers=world.headers("admin"))
    assert [e["entity_id"] for e in mine.json()["items"]] == [str(ids[1])]
    other = await make_world(sessionmaker, client, float_points=0)
    assert (await client.get(f"{API}/audit", headers=other.headers("admin"))).json()["items"] == []


async def test_bad_queries_and_roles(client, world):
    assert_problem(await client.get(f"{API}/audit", params={"cursor": "nonsense"}, headers=world.headers("admin")), 400, "invalid_cursor")
    assert_problem(await client.get(f"{API}/audit", params={"from": "yesterday"}, headers=world.headers("admin")), 422)
    assert_problem(await client.get(f"{API}/audit", params={"actor": 2**64}, headers=world.headers("admin")), 422)
    assert_problem(await client.get(f"{API}/audit"), 401)
    for who in ("owner", "cashier", "shopper"):
        assert_problem(await client.get(f"{API}/audit", headers=world.headers(who)), 403)
