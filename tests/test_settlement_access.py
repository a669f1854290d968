"""Who sees which statement, refused closes and payout runs write nothing, IBAN checks, liability."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.db import transaction
from backend.ledger import service as ledger
from backend.merchants.models import Merchant
from backend.settlement.iban import iban_problem
from backend.settlement.models import Payout, PayoutBatch, SettlementLine, SettlementPeriod
from tests.fixtures.factories import World, make_world, new_key
from tests.fixtures.ledger import assert_problem
from tests.test_settlement_month import month_start, past_months

API = "/api/v1/settlement"


async def rows(sessionmaker: async_sessionmaker[AsyncSession], tenant_id: int) -> tuple[int, ...]:
    async with sessionmaker() as session:
        counts = []
        for model in (SettlementPeriod, SettlementLine, PayoutBatch, Payout):
            query = select(func.count()).select_from(model).where(model.tenant_id == tenant_id)
            counts.append(int(await session.scalar(query) or 0))
        return tuple(counts)


async def closed_month(client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], world: World) -> dict:
    """Last month with one redemption at each shop."""
    _, (year, month) = past_months(datetime.now(UTC))
    moment = month_start(year, month) + timedelta(days=3)
    async with transaction(sessionmaker) as session:
        for redeemed, points in ((world.bakery_redeemed, 120), (world.shop_redeemed, 80)):
            await ledger.post_transfer(
                session, tenant_id=world.tenant.id, idempotency_key=new_key("earn"), kind="earn",
                debit_account_id=world.bakery_float.id, credit_account_id=world.an_wallet.id, amount=points,
                meta={"merchant_id": world.bakery.id}, now=moment,
            )
            await ledger.post_transfer(
                session, tenant_id=world.tenant.id, idempotency_key=new_key("redeem"), kind="redeem",
                debit_account_id=world.an_wallet.id, credit_account_id=redeemed.id, amount=points, now=moment,
            )
    response = await client.post(f"{API}/periods", json={"year": year, "month": month}, headers=world.headers("admin"))
    assert response.status_code == 201, response.text
    return response.json()


async def test_the_municipality_sees_every_statement_an_owner_only_its_own(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    closed = await closed_month(client, sessionmaker, world)
    period_id = closed["period"]["id"]
    by_merchant = {s["merchant_id"]: s["id"] for s in closed["statements"]}
    for who in ("admin", "auditor"):
        seen = await client.get(f"{API}/periods/{period_id}/statements", headers=world.headers(who))
        assert {s["merchant_id"] for s in seen.json()} == {world.bakery.id, world.shop.id}
    own = await client.get(f"{API}/periods/{period_id}/statements", headers=world.headers("owner"))
    assert [s["merchant_id"] for s in own.json()] == [world.bakery.id]
    assert (await client.get(f"{API}/periods", headers=world.headers("owner"))).status_code == 200
    for suffix in (".pdf", ".csv", ""):
        assert (await client.get(f"{API}/statements/{by_merchant[world.bakery.id]}{suffix}", headers=world.headers("owner"))).status_code == 200
        assert_problem(await client.get(f"{API}/statements/{by_merchant[world.shop.id]}{suffix}", headers=world.headers("owner")), 404, "statement_not_found")
        assert_problem(await client.get(f"{API}/statements/{by_merchant[world.shop.id]}{suffix}", headers=world.headers("cashier")), 403)
    other = await make_world(sessionmaker, client, float_points=0)
    assert_problem(await client.get(f"{API}/statements/{by_merchant[world.shop.id]}.pdf", headers=other.headers("admin")), 404)
    assert_problem(await client.get(f"{API}/periods/{period_id}/statements", headers=other.headers("admin")), 404)
    assert_problem(await client.get(f"{API}/liability", headers=world.headers("owner")), 403)
    for who in ("owner", "auditor"):
        assert_problem(await client.post(f"{API}/periods/{period_id}/payouts", headers=world.headers(who)), 403)


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({"year": 2026, "month": 13}, 422, "validation_error"),
        ({"year": 1999, "month": 5}, 422, "validation_error"),
        ({"year": "2026", "month": 1}, 422, "validation_error"),
        ({"year": 2026}, 422, "validation_error"),
        ({"year": 2999, "month": 1}, 422, "validation_error"),
    ],
)
async def test_bad_period_input_writes_nothing(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], body: dict, status: int, code: str
) -> None:
    before = await rows(sessionmaker, world.tenant.id)
    assert_problem(await client.post(f"{API}/periods", json=body, headers=world.headers("admin")), status, code)
    assert await rows(sessionmaker, world.tenant.id) == before


async def test_unfinished_and_out_of_order_months_are_refused(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    now = datetime.now(UTC)
    (y1, m1), (y2, m2) = past_months(now)
    before = await rows(sessionmaker, world.tenant.id)
    assert_problem(await client.post(f"{API}/periods", json={"year": now.year + 1, "month": 1}, headers=world.headers("admin")), 409, "period_not_over")
    assert await rows(sessionmaker, world.tenant.id) == before
    assert (await client.post(f"{API}/periods", json={"year": y2, "month": m2}, headers=world.headers("admin"))).status_code == 201
    before = await rows(sessionmaker, world.tenant.id)
    assert_problem(await client.post(f"{API}/periods", json={"year": y1, "month": m1}, headers=world.headers("admin")), 409, "period_out_of_order")
    assert_problem(await client.post(f"{API}/periods", json={"year": y2, "month": m2}, headers=world.headers("owner")), 403)
    assert await rows(sessionmaker, world.tenant.id) == before


async def test_payout_run_refuses_invalid_ibans_and_writes_nothing(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    closed = await closed_month(client, sessionmaker, world)
    period_id = closed["period"]["id"]
    admin = world.headers("admin")
    assert_problem(await client.put(f"{API}/bank-account", json={"iban": "BE68539007547035"}, headers=admin), 422, "invalid_iban")
    assert_problem(await client.put(f"{API}/bank-account", json={"iban": "BE68539007547034", "bic": "NOTABIC!"}, headers=admin), 422)
    assert (await client.put(f"{API}/bank-account", json={"iban": "BE68539007547034"}, headers=admin)).status_code == 200
    async with transaction(sessionmaker) as session:
        await session.execute(update(Merchant).where(Merchant.id == world.bakery.id).values(iban="BE71096123456769"))
        await session.execute(update(Merchant).where(Merchant.id == world.shop.id).values(iban="BE00 1234 5678 9012"))
    before = await rows(sessionmaker, world.tenant.id)
    problem = assert_problem(await client.post(f"{API}/periods/{period_id}/payouts", headers=admin), 422, "merchant_iban_invalid")
    assert [m["merchant_id"] for m in problem["merchants"]] == [world.shop.id]
    assert_problem(await client.get(f"{API}/periods/{period_id}/sepa.xml", headers=admin), 404, "payout_run_not_found")
    assert_problem(await client.post(f"{API}/periods/{period_id}/payouts/confirm", headers=admin), 404, "payout_run_not_found")
    assert_problem(await client.post(f"{API}/periods/{2**62}/payouts", headers=admin), 404, "period_not_found")
    assert await rows(sessionmaker, world.tenant.id) == before


def test_iban_mod97() -> None:
    assert iban_problem("BE68 5390 0754 7034") is None
    assert iban_problem("be68539007547034") is None
    assert iban_problem("NL91ABNA0417164300") is None
    assert iban_problem("BE68539007547035") == "check digits do not match"
    assert iban_problem("BE6853900754703") == "a BE IBAN has 16 characters"
    assert iban_problem("") == "no IBAN"
    assert iban_problem("12345") == "not shaped like an IBAN"


async def test_liability_counts_wallets_with_their_open_holds(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with transaction(sessionmaker) as session:
        for wallet, points in ((world.an_wallet, 500), (world.bert_wallet, 250)):
            await ledger.post_transfer(
                session, tenant_id=world.tenant.id, idempotency_key=new_key("earn"), kind="earn",
                debit_account_id=world.bakery_float.id, credit_account_id=wallet.id, amount=points,
            )
        await ledger.create_hold(
            session, tenant_id=world.tenant.id, idempotency_key=new_key("hold"), kind="redeem",
            debit_account_id=world.an_wallet.id, credit_account_id=world.shop_redeemed.id, amount=100,
            timeout_seconds=300,
        )
    body = (await client.get(f"{API}/liability", headers=world.headers("auditor"))).json()
    async with sessionmaker() as session:
        wallets = await ledger.get_balances(
            session, tenant_id=world.tenant.id, account_ids=[world.an_wallet.id, world.bert_wallet.id]
        )
    assert body["outstanding_points"] == sum(b.balance for b in wallets.values()) == 750
    assert body["reserved_points"] == 100 and body["consistent"] is True
    assert body["outstanding_cents"] == 750 * world.tenant.point_value_cents
    assert body["positions"]["merchant_float"] == 100_000 - 750
