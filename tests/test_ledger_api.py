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


async def test_partial_capture_moves_part_of_a_hold_and_releases_the_rest(client, world):
    earn = {"kind": "earn", "debit_account_id": world.bakery_float.id, "credit_account_id": world.an_wallet.id, "amount": 100}
    assert (await client.post("/api/v1/transfers", json=earn, headers=world.headers(**idem()))).status_code == 201
    hold = await client.post(
        "/api/v1/holds",
        json={"debit_account_id": world.an_wallet.id, "credit_account_id": world.bakery_redeemed.id, "amount": 60},
        headers=world.headers(**idem()),
    )
    assert hold.status_code == 201, hold.text
    assert (await balance(client, world, world.an_wallet.id))["available"] == 40
    key = new_key()
    capture = await client.post(
        f"/api/v1/holds/{hold.json()['id']}/capture", json={"amount": 25}, headers=world.headers(**idem(key))
    )
    assert capture.status_code == 201, capture.text
    assert capture.json()["amount"] == 25 and capture.json()["hold_id"] == hold.json()["id"]
    again = await client.post(
        f"/api/v1/holds/{hold.json()['id']}/capture", json={"amount": 25}, headers=world.headers(**idem(key))
    )
    assert again.status_code == 201 and again.json() == capture.json()
    wallet = await balance(client, world, world.an_wallet.id)
    assert (wallet["balance"], wallet["pending"], wallet["available"]) == (75, 0, 75)
    assert (await balance(client, world, world.bakery_redeemed.id))["balance"] == 25
    shown = await client.get(f"/api/v1/holds/{hold.json()['id']}", headers=world.headers("auditor"))
    assert shown.json()["status"] == "captured" and shown.json()["captured_amount"] == 25


async def test_a_partial_reversal_replays_under_its_key_and_cannot_be_repeated(client, world):
    body = {"kind": "earn", "debit_account_id": world.bakery_float.id, "credit_account_id": world.an_wallet.id, "amount": 80}
    original = (await client.post("/api/v1/transfers", json=body, headers=world.headers(**idem()))).json()
    key = new_key()
    url = f"/api/v1/transfers/{original['id']}/reversals"
    first = await client.post(url, json={"amount": 30}, headers=world.headers(**idem(key)))
    assert first.status_code == 201, first.text
    assert first.json()["reverses_transfer_id"] == original["id"] and first.json()["kind"] == "reversal"
    replay = await client.post(url, json={"amount": 30}, headers=world.headers(**idem(key)))
    assert replay.status_code == 201 and replay.json() == first.json()
    assert replay.headers.get("idempotent-replayed") == "true"
    second = await client.post(url, json={"amount": 30}, headers=world.headers(**idem()))
    assert second.status_code == 409 and second.json()["code"] == "already_reversed"
    assert (await balance(client, world, world.an_wallet.id))["balance"] == 50


async def test_entries_page_through_with_the_cursor_newest_first(client, world):
    for amount in range(1, 8):
        body = {"kind": "earn", "debit_account_id": world.bakery_float.id, "credit_account_id": world.bert_wallet.id, "amount": amount}
        assert (await client.post("/api/v1/transfers", json=body, headers=world.headers(**idem()))).status_code == 201
    seen, cursor = [], None
    while True:
        url = f"/api/v1/accounts/{world.bert_wallet.id}/entries?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = await client.get(url, headers=world.headers("auditor"))
        assert page.status_code == 200, page.text
        seen.extend(page.json()["items"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert [e["amount"] for e in seen] == list(range(7, 0, -1))
    assert len({e["id"] for e in seen}) == 7
    assert all(e["counterparty_account_id"] == world.bakery_float.id and e["kind"] == "earn" for e in seen)


async def test_verify_through_the_api_finds_the_books_in_order(client, world):
    body = {"kind": "earn", "debit_account_id": world.bakery_float.id, "credit_account_id": world.an_wallet.id, "amount": 5}
    assert (await client.post("/api/v1/transfers", json=body, headers=world.headers(**idem()))).status_code == 201
    report = await client.get("/api/v1/ledger/verify", headers=world.headers("auditor"))
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["ok"] and body["problems"] == [] and body["total_balance"] == 0
    assert body["transfers"] == 2 and body["entries"] == 4
