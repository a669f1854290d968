"""GET /me/wallet and /me/history: balance, holds, expiring lots, history; own wallet only."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.db import transaction
from backend.core.types import utcnow
from backend.ledger import service as ledger
from backend.ledger.models import Hold
from backend.merchants.models import Merchant, MerchantStatus
from tests.fixtures.auth import create_pos_key
from tests.fixtures.factories import World, make_merchant, new_key
from tests.fixtures.ledger import assert_problem
from tests.fixtures.wallets import (
    API,
    earn,
    hold,
    new_tenant,
    redeem,
    set_tenant,
    sign_up,
)

BRUSSELS = ZoneInfo("Europe/Brussels")


async def test_a_new_wallet_is_empty(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    shopper = await sign_up(client, sessionmaker, tenant)
    response = await client.get(f"{API}/me/wallet", headers=shopper.headers)
    assert response.status_code == 200
    assert response.json() == {
        "balance": 0,
        "pending": 0,
        "available": 0,
        "value_cents": 0,
        "point_value_cents": 1,
        "holds": [],
        "expiring": [],
    }


async def test_wallet_shows_balance_value_holds_and_points_expiring_first_in_first_out(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], world: World
) -> None:
    await set_tenant(sessionmaker, world.tenant, points_expiry_days=100, point_value_cents=2)
    shopper = await sign_up(client, sessionmaker, world.tenant)
    now = utcnow()
    common = {"tenant": world.tenant, "wallet_id": shopper.wallet_id}
    await earn(
        sessionmaker,
        float_account=world.bakery_float,
        points=100,
        now=now - timedelta(days=80),
        **common,
    )
    await earn(
        sessionmaker,
        float_account=world.bakery_float,
        points=50,
        now=now - timedelta(days=70),
        **common,
    )
    await earn(
        sessionmaker,
        float_account=world.bakery_float,
        points=30,
        now=now - timedelta(days=10),
        **common,
    )
    # Spending 120 eats the whole oldest lot and 20 of the second.
    await redeem(
        sessionmaker,
        redeemed_account=world.shop_redeemed,
        points=120,
        now=now - timedelta(days=5),
        **common,
    )
    hold_id = await hold(sessionmaker, redeemed_account=world.shop_redeemed, points=25, **common)

    response = await client.get(f"{API}/me/wallet", headers=shopper.headers)
    assert response.status_code == 200, response.text
    wallet = response.json()
    assert (wallet["balance"], wallet["pending"], wallet["available"]) == (60, 25, 35)
    assert (wallet["value_cents"], wallet["point_value_cents"]) == (120, 2)
    assert [(h["hold_id"], h["points"], h["merchant_name"]) for h in wallet["holds"]] == [
        (hold_id, 25, "Boekhandel Meerdonk")
    ]
    lapses_on = (now - timedelta(days=70) + timedelta(days=100)).astimezone(BRUSSELS).date()
    # The 30 points of ten days ago lapse in 90 days: beyond the 60-day window.
    assert wallet["expiring"] == [{"points": 30, "expires_on": lapses_on.isoformat()}]


async def test_an_expired_hold_no_longer_counts_as_pending(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], world: World
) -> None:
    shopper = await sign_up(client, sessionmaker, world.tenant)
    common = {"tenant": world.tenant, "wallet_id": shopper.wallet_id}
    await earn(sessionmaker, float_account=world.bakery_float, points=40, **common)
    await hold(sessionmaker, redeemed_account=world.shop_redeemed, points=10, **common)
    async with transaction(sessionmaker) as session:
        await session.execute(
            update(Hold)
            .where(Hold.debit_account_id == shopper.wallet_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    wallet = (await client.get(f"{API}/me/wallet", headers=shopper.headers)).json()
    assert (wallet["balance"], wallet["pending"], wallet["available"], wallet["holds"]) == (
        40,
        0,
        40,
        [],
    )


async def test_history_newest_first_signed_with_merchants_and_reversals_paginated(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], world: World
) -> None:
    shopper = await sign_up(client, sessionmaker, world.tenant)
    common = {"tenant": world.tenant, "wallet_id": shopper.wallet_id}
    first = await earn(sessionmaker, float_account=world.bakery_float, points=70, **common)
    second = await earn(sessionmaker, float_account=world.bakery_float, points=20, **common)
    spent = await redeem(sessionmaker, redeemed_account=world.shop_redeemed, points=15, **common)
    async with transaction(sessionmaker) as session:
        undone = await ledger.reverse_transfer(
            session, tenant_id=world.tenant.id, transfer_id=second, idempotency_key=new_key("undo")
        )

    response = await client.get(f"{API}/me/history", headers=shopper.headers)
    assert response.status_code == 200
    page = response.json()
    assert page["next_cursor"] is None
    rows = [
        (
            i["id"],
            i["kind"],
            i["points"],
            i["merchant_name"],
            i["merchant_category"],
            i["reversal_of"],
        )
        for i in page["items"]
    ]
    assert rows == [
        (undone.id, "reversal", -20, "Bakkerij De Wilde", "bakery", second),
        (spent, "redeem", -15, "Boekhandel Meerdonk", "books", None),
        (second, "earn", 20, "Bakkerij De Wilde", "bakery", None),
        (first, "earn", 70, "Bakkerij De Wilde", "bakery", None),
    ]
    assert page["items"][0]["reversed_kind"] == "earn"

    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = (
            await client.get(f"{API}/me/history", headers=shopper.headers, params=params)
        ).json()
        seen.extend(item["id"] for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [row[0] for row in rows]

    assert_problem(
        await client.get(f"{API}/me/history", headers=shopper.headers, params={"cursor": "!!"}),
        400,
        "invalid_cursor",
    )
    assert_problem(
        await client.get(f"{API}/me/history", headers=shopper.headers, params={"limit": 0}),
        422,
        "validation_error",
    )


async def test_each_shopper_sees_only_their_own_wallet(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], world: World
) -> None:
    mine = await sign_up(client, sessionmaker, world.tenant)
    theirs = await sign_up(client, sessionmaker, world.tenant)
    foreign_tenant = await new_tenant(sessionmaker)
    async with transaction(sessionmaker) as session:
        _, foreign_float, _ = await make_merchant(session, tenant=foreign_tenant)
        funding = await ledger.find_account(session, tenant_id=foreign_tenant.id, code="funding")
        await ledger.post_transfer(
            session,
            tenant_id=foreign_tenant.id,
            idempotency_key=new_key("topup"),
            kind="topup",
            debit_account_id=funding.id,
            credit_account_id=foreign_float.id,
            amount=1000,
        )
    foreigner = await sign_up(client, sessionmaker, foreign_tenant, email=mine.email)
    await earn(
        sessionmaker,
        tenant=world.tenant,
        float_account=world.bakery_float,
        wallet_id=mine.wallet_id,
        points=11,
    )
    await earn(
        sessionmaker,
        tenant=world.tenant,
        float_account=world.bakery_float,
        wallet_id=theirs.wallet_id,
        points=22,
    )
    await earn(
        sessionmaker,
        tenant=foreign_tenant,
        float_account=foreign_float,
        wallet_id=foreigner.wallet_id,
        points=33,
    )

    for shopper, points in ((mine, 11), (theirs, 22), (foreigner, 33)):
        wallet = (await client.get(f"{API}/me/wallet", headers=shopper.headers)).json()
        assert wallet["balance"] == points
        history = (await client.get(f"{API}/me/history", headers=shopper.headers)).json()
        assert [item["points"] for item in history["items"]] == [points]

    # Staff have no wallet here, whatever their role; a till key neither.
    for who in ("admin", "auditor", "owner", "cashier"):
        for path in ("/me/wallet", "/me/history", "/me/export"):
            assert_problem(
                await client.get(f"{API}{path}", headers=world.headers(who)), 403, "forbidden"
            )
    async with transaction(sessionmaker) as session:
        _, raw_key = await create_pos_key(
            session, tenant_id=world.tenant.id, merchant_id=world.bakery.id, commit=False
        )
    assert_problem(await client.get(f"{API}/me/wallet", headers={"X-API-Key": raw_key}), 403)
    assert_problem(await client.get(f"{API}/me/wallet"), 401)
    assert_problem(
        await client.get(f"{API}/me/wallet", headers={"Authorization": "Bearer not-a-token"}), 401
    )
    # The wallet is found from the token alone: query parameters name nobody else's.
    sneaky = await client.get(
        f"{API}/me/history",
        headers=mine.headers,
        params={"shopper_id": theirs.shopper_id, "account_id": theirs.wallet_id},
    )
    assert [item["points"] for item in sneaky.json()["items"]] == [11]


async def test_suspended_merchant_still_named_in_history(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], world: World
) -> None:
    shopper = await sign_up(client, sessionmaker, world.tenant)
    await earn(
        sessionmaker,
        tenant=world.tenant,
        float_account=world.bakery_float,
        wallet_id=shopper.wallet_id,
        points=5,
    )
    async with transaction(sessionmaker) as session:
        await session.execute(
            update(Merchant)
            .where(Merchant.id == world.bakery.id)
            .values(status=MerchantStatus.SUSPENDED)
        )
    history = (await client.get(f"{API}/me/history", headers=shopper.headers)).json()
    assert history["items"][0]["merchant_name"] == "Bakkerij De Wilde"
