"""SQLite allows one writer at a time: concurrent writes queue, they never fail as "locked"."""

from __future__ import annotations

import asyncio

import pytest

from tests.fixtures.factories import idem


async def test_concurrent_transfers_all_succeed_on_one_writer(client, world, backend):
    if backend != "sqlite":
        pytest.skip("the one-writer behaviour is SQLite's; PostgreSQL races are in test_ledger_concurrency")
    body = {"kind": "earn", "debit_account_id": world.bakery_float.id, "credit_account_id": world.an_wallet.id, "amount": 3}

    async def earn() -> int:
        response = await client.post("/api/v1/transfers", json=body, headers=world.headers(**idem()))
        return response.status_code

    statuses = await asyncio.gather(*(earn() for _ in range(40)))
    assert statuses == [201] * 40
    balance = await client.get(f"/api/v1/accounts/{world.an_wallet.id}/balance", headers=world.headers())
    assert balance.json()["balance"] == 120
