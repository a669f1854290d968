"""The ledger through HTTP: transfers, idempotency, reversals, holds, balances, entries."""

from __future__ import annotations

from tests.fixtures.factories import World, idem, new_key


async def balance(client, world: World, account_id: int) -> dict:
    response = await client.get(f"/api/v1/accounts/{account_id}/balance", headers=world.headers())
    assert response.status_code == 200, response.text
    return response.json()


async def test_earn_moves_points_from_float_to_wallet(client, world):
    body = {"kind": "earn", "debit_account_id": world.bakery_float.id, "credit_account_id": world.an_wallet.id, "amount": 250}
    response = await client.post("/api/v1/transfers", json=body, headers=world.headers(**idem()))
    assert response.status_code == 201, response.text
    assert response.json()["amount"] == 250
    assert (await balance(client, world, world.an_wallet.id))["balance"] == 250
    assert (await balance(client, world, world.bakery_float.id))["balance"] == 100_000 - 250


async def test_same_key_same_request_replays_and_different_request_conflicts(client, world):
    key = new_key()
    body = {"kind": "earn", "debit_account_id": world.bakery_float.id, "credit_account_id": world.an_wallet.id, "amount": 10}
    first = await client.post("/api/v1/transfers", json=body, headers=world.headers(**idem(key)))
    again = await client.post("/api/v1/transfers", json=body, headers=world.headers(**idem(key)))
    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert first.json() == again.json()
    other = await client.post("/api/v1/transfers", json={**body, "amount": 11}, headers=world.headers(**idem(key)))
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert (await balance(client, world, world.an_wallet.id))["balance"] == 10
