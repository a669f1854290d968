"""Append-only storage and hold expiry.

* Transfers, entries and seals cannot be changed or removed with SQL, on either database
  (triggers from the append-only migration): a mistake is corrected by a reversal.
* A hold whose time ran out stops counting in ``available`` at once, before the sweeper
  marks it; the sweeper releases it exactly once however often (and however
  concurrently) it runs; it can no longer be captured, and voiding it changes nothing.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from backend.core.db import transaction
from backend.core.types import utcnow
from backend.ledger import service as ledger
from backend.ledger.chain import seal_all
from backend.ledger.holds import expire_overdue_holds
from backend.ledger.models import Hold
from tests.fixtures.factories import World, new_key
from tests.fixtures.ledger import API, assert_problem, check_ledger, snapshot

# --------------------------------------------------------------------------- append-only


async def sealed_transfer(sessionmaker, world: World) -> int:  # noqa: ANN001
    async with transaction(sessionmaker) as session:
        posted = await ledger.post_transfer(
            session,
            tenant_id=world.tenant.id,
            idempotency_key=new_key(),
            kind="earn",
            debit_account_id=world.bakery_float.id,
            credit_account_id=world.an_wallet.id,
            amount=42,
        )
    async with transaction(sessionmaker) as session:
        await seal_all(session, tenant_id=world.tenant.id)
    return posted.id


TAMPERING = [
    ("update-transfer", "UPDATE transfer SET amount = amount + 1 WHERE id = :id"),
    ("update-transfer-key", "UPDATE transfer SET idempotency_key = 'forged-key-123' WHERE id = :id"),
    ("delete-transfer", "DELETE FROM transfer WHERE id = :id"),
    ("update-entry", "UPDATE entry SET amount = amount * 2 WHERE transfer_id = :id"),
    ("delete-entry", "DELETE FROM entry WHERE transfer_id = :id"),
    ("update-seal", "UPDATE ledger_seal SET hash = prev_hash WHERE transfer_id = :id"),
    ("delete-seal", "DELETE FROM ledger_seal WHERE transfer_id = :id"),
]


@pytest.mark.parametrize(("name", "sql"), TAMPERING, ids=[name for name, _ in TAMPERING])
async def test_ledger_rows_cannot_be_updated_or_deleted(sessionmaker, world, name, sql):
    transfer_id = await sealed_transfer(sessionmaker, world)
    before = await snapshot(sessionmaker, world.tenant.id)
    async with sessionmaker() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text(sql), {"id": transfer_id})
        await session.rollback()
    assert await snapshot(sessionmaker, world.tenant.id) == before
    await check_ledger(sessionmaker, world.tenant.id)


async def test_seals_cannot_be_truncated_on_postgresql(sessionmaker, world, backend):
    if backend != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    await sealed_transfer(sessionmaker, world)
    async with sessionmaker() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text("TRUNCATE ledger_seal"))
        await session.rollback()
    await check_ledger(sessionmaker, world.tenant.id)


# --------------------------------------------------------------------------- hold expiry


async def overdue_hold(sessionmaker, world: World, *, funded: int = 100, amount: int = 80) -> int:  # noqa: ANN001
    """A hold on An's wallet that ran out four minutes ago (the sweeper has not run)."""
    async with transaction(sessionmaker) as session:
        await ledger.post_transfer(
            session,
            tenant_id=world.tenant.id,
            idempotency_key=new_key(),
            kind="earn",
            debit_account_id=world.bakery_float.id,
            credit_account_id=world.an_wallet.id,
            amount=funded,
        )
        hold, _ = await ledger.create_hold(
            session,
            tenant_id=world.tenant.id,
            idempotency_key=new_key(),
            kind="redeem",
            debit_account_id=world.an_wallet.id,
            credit_account_id=world.bakery_redeemed.id,
            amount=amount,
            timeout_seconds=60,
            now=utcnow() - timedelta(minutes=5),
        )
    return hold.id


async def wallet(client, world: World) -> tuple[int, int, int]:  # noqa: ANN001
    response = await client.get(f"{API}/accounts/{world.an_wallet.id}/balance", headers=world.headers("auditor"))
    assert response.status_code == 200, response.text
    body = response.json()
    return body["balance"], body["pending"], body["available"]


async def stored_status(sessionmaker, hold_id: int) -> str:  # noqa: ANN001
    async with sessionmaker() as session:
        return await session.scalar(select(Hold.status).where(Hold.id == hold_id))


async def test_an_overdue_hold_no_longer_counts_before_the_sweeper_ran(client, sessionmaker, world):
    hold_id = await overdue_hold(sessionmaker, world)
    assert await stored_status(sessionmaker, hold_id) == "pending"
    assert await wallet(client, world) == (100, 0, 100)
    shown = await client.get(f"{API}/holds/{hold_id}", headers=world.headers("auditor"))
    assert shown.status_code == 200 and shown.json()["status"] == "expired", shown.text
    account = await client.get(f"{API}/accounts/{world.an_wallet.id}", headers=world.headers("auditor"))
    assert account.json()["balance"]["available"] == 100
    listed = await client.get(f"{API}/accounts?type=shopper_wallet", headers=world.headers("auditor"))
    assert {a["id"]: a["balance"]["available"] for a in listed.json()["items"]}[world.an_wallet.id] == 100


async def test_the_sweeper_releases_an_overdue_hold_exactly_once(client, sessionmaker, world):
    hold_id = await overdue_hold(sessionmaker, world)
    async with transaction(sessionmaker) as session:
        assert await expire_overdue_holds(session, tenant_id=world.tenant.id) == 1
    async with transaction(sessionmaker) as session:
        assert await expire_overdue_holds(session, tenant_id=world.tenant.id) == 0
    assert await stored_status(sessionmaker, hold_id) == "expired"
    assert await wallet(client, world) == (100, 0, 100)
    await check_ledger(sessionmaker, world.tenant.id)


async def test_concurrent_sweepers_release_an_overdue_hold_once(client, sessionmaker, world):
    hold_id = await overdue_hold(sessionmaker, world)

    async def sweep() -> int:
        async with transaction(sessionmaker) as session:
            return await expire_overdue_holds(session, tenant_id=world.tenant.id)

    assert sorted(await asyncio.gather(*(sweep() for _ in range(6)))) == [0, 0, 0, 0, 0, 1]
    assert await stored_status(sessionmaker, hold_id) == "expired"
    assert await wallet(client, world) == (100, 0, 100)
    await check_ledger(sessionmaker, world.tenant.id)


@pytest.mark.parametrize("swept", [False, True], ids=["before-sweep", "after-sweep"])
async def test_an_expired_hold_cannot_be_captured_and_voiding_it_changes_nothing(client, sessionmaker, world, swept):
    hold_id = await overdue_hold(sessionmaker, world)
    if swept:
        async with transaction(sessionmaker) as session:
            assert await expire_overdue_holds(session, tenant_id=world.tenant.id) == 1
    before = await snapshot(sessionmaker, world.tenant.id)
    capture = await client.post(
        f"{API}/holds/{hold_id}/capture", json={}, headers=world.headers(**{"Idempotency-Key": new_key()})
    )
    assert_problem(capture, 409, "hold_expired")
    assert await snapshot(sessionmaker, world.tenant.id) == before
    for _ in range(2):
        void = await client.post(f"{API}/holds/{hold_id}/void", headers=world.headers())
        assert void.status_code == 200, void.text
        assert void.json()["status"] == "expired"
    assert await stored_status(sessionmaker, hold_id) == "expired"
    assert await wallet(client, world) == (100, 0, 100)
    async with transaction(sessionmaker) as session:
        assert await expire_overdue_holds(session, tenant_id=world.tenant.id) == 0
    await check_ledger(sessionmaker, world.tenant.id)


async def test_points_of_an_overdue_hold_can_be_spent_before_the_sweeper_ran(client, sessionmaker, world):
    hold_id = await overdue_hold(sessionmaker, world, funded=100, amount=80)
    # 100 - 80 stored as pending leaves 20: only the slow path, which expires the
    # overdue hold first, can find the 60 this new hold needs.
    response = await client.post(
        f"{API}/holds",
        json={"debit_account_id": world.an_wallet.id, "credit_account_id": world.shop_redeemed.id, "amount": 60},
        headers=world.headers(**{"Idempotency-Key": new_key()}),
    )
    assert response.status_code == 201, response.text
    assert await stored_status(sessionmaker, hold_id) == "expired"
    assert await wallet(client, world) == (100, 60, 40)
    spend = await client.post(
        f"{API}/transfers",
        json={"kind": "redeem", "debit_account_id": world.an_wallet.id, "credit_account_id": world.shop_redeemed.id, "amount": 40},
        headers=world.headers(**{"Idempotency-Key": new_key()}),
    )
    assert spend.status_code == 201, spend.text
    assert await wallet(client, world) == (60, 60, 0)
    async with transaction(sessionmaker) as session:
        assert await expire_overdue_holds(session, tenant_id=world.tenant.id) == 0
    await check_ledger(sessionmaker, world.tenant.id)


async def test_listing_holds_by_status_agrees_with_the_status_shown(client, sessionmaker, world):
    overdue_id = await overdue_hold(sessionmaker, world, funded=100, amount=30)
    live = await client.post(
        f"{API}/holds",
        json={"debit_account_id": world.an_wallet.id, "credit_account_id": world.bakery_redeemed.id, "amount": 10},
        headers=world.headers(**{"Idempotency-Key": new_key()}),
    )
    assert live.status_code == 201, live.text
    live_id = live.json()["id"]
    for status, expected in [("pending", {live_id}), ("expired", {overdue_id})]:
        response = await client.get(
            f"{API}/holds?account_id={world.an_wallet.id}&status={status}", headers=world.headers("auditor")
        )
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        assert {item["status"] for item in items} <= {status}, items
        assert {item["id"] for item in items} == expected


async def test_a_hold_runs_out_by_itself_through_the_api(client, sessionmaker, world):
    """Real time, one second: the hold is created live and stops counting when it runs out."""
    await overdue_hold(sessionmaker, world, funded=50, amount=1)  # leaves 49 for the live hold
    created = await client.post(
        f"{API}/holds",
        json={
            "debit_account_id": world.an_wallet.id,
            "credit_account_id": world.bakery_redeemed.id,
            "amount": 49,
            "timeout_seconds": 1,
        },
        headers=world.headers(**{"Idempotency-Key": new_key()}),
    )
    assert created.status_code == 201, created.text
    assert await wallet(client, world) == (50, 49, 1)
    await asyncio.sleep(1.05)
    assert await wallet(client, world) == (50, 0, 50)
    capture = await client.post(
        f"{API}/holds/{created.json()['id']}/capture", json={}, headers=world.headers(**{"Idempotency-Key": new_key()})
    )
    assert_problem(capture, 409, "hold_expired")
    async with sessionmaker() as session:
        pending = await session.scalar(
            select(func.count()).select_from(Hold).where(Hold.tenant_id == world.tenant.id, Hold.status == "pending")
        )
    assert pending == 2  # both stored as pending until the sweeper (or a slow-path debit) expires it
    await check_ledger(sessionmaker, world.tenant.id)


async def test_the_scheduler_seals_a_transfer_stamped_before_its_window(sessionmaker, world):
    """A transfer dated long before the newest sealed link is sealed by the full scan."""
    from datetime import timedelta

    from backend.core.db import transaction
    from backend.core.types import utcnow
    from backend.jobs import run_once
    from backend.ledger import service as ledger
    from backend.ledger.verify import verify_tenant
    from tests.fixtures.factories import new_key

    await run_once(sessionmaker)  # seals the world's set-up transfers; the window moves to now
    async with transaction(sessionmaker) as session:
        await ledger.post_transfer(
            session,
            tenant_id=world.tenant.id,
            idempotency_key=new_key("old"),
            kind="earn",
            debit_account_id=world.bakery_float.id,
            credit_account_id=world.an_wallet.id,
            amount=7,
            now=utcnow() - timedelta(days=3),
        )
    await run_once(sessionmaker)
    async with transaction(sessionmaker) as session:
        report = await verify_tenant(session, tenant_id=world.tenant.id)
    assert report.sealed == report.transfers - 1, "the windowed sealer should not reach back three days"
    await run_once(sessionmaker, full_scan=True)
    async with transaction(sessionmaker) as session:
        report = await verify_tenant(session, tenant_id=world.tenant.id)
    assert report.ok, report.problems
    assert report.sealed == report.transfers
