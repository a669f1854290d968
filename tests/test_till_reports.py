"""The shop's day at the till and its float."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from backend.auth.models import Role
from backend.core.db import transaction
from backend.core.types import utcnow
from tests.fixtures.factories import fund
from tests.fixtures.ledger import assert_problem
from tests.fixtures.till import API, keyed, staff_token, wallet_qr


async def test_today_lists_this_shops_earns_and_redemptions_with_totals(
    client, world, sessionmaker, app
):
    settings = app.state.settings
    qr = await wallet_qr(sessionmaker, world, settings)
    earns = []
    for cents in (1000, 2550, 4000):
        response = await client.post(
            f"{API}/till/earns",
            json={"scan": qr.qr_text, "purchase_cents": cents},
            headers=keyed(world),
        )
        earns.append(response.json())
    await client.post(
        f"{API}/till/earns/{earns[0]['transfer_id']}/undo", json={}, headers=keyed(world)
    )
    await client.post(
        f"{API}/till/earns/{earns[2]['transfer_id']}/refund",
        json={"refund_cents": 1000},
        headers=keyed(world),
    )
    spend = await wallet_qr(sessionmaker, world, settings)
    hold = (
        await client.post(
            f"{API}/till/redemptions",
            json={"scan": spend.qr_text, "points": 20},
            headers=keyed(world),
        )
    ).json()
    await client.post(
        f"{API}/till/redemptions/{hold['hold_id']}/capture", json={}, headers=keyed(world)
    )
    # Another shop's sale does not show.
    async with transaction(sessionmaker) as session:
        await fund(session, tenant=world.tenant, float_account=world.shop_float, amount=1000)
    shop = await staff_token(sessionmaker, client, world, world.shop, Role.CASHIER)
    other = await client.post(
        f"{API}/till/earns",
        json={"scan": qr.qr_text, "purchase_cents": 9900},
        headers={**shop, "Idempotency-Key": "other-shop-1"},
    )
    assert other.status_code == 201

    response = await client.get(f"{API}/till/today", headers=world.headers("cashier"))
    assert response.status_code == 200, response.text
    day = response.json()
    assert day["date"] == utcnow().astimezone(ZoneInfo("Europe/Brussels")).date().isoformat()
    assert [e["transfer_id"] for e in day["earns"]] == [e["transfer_id"] for e in earns]
    assert [(e["undone"], e["reversed_points"]) for e in day["earns"]] == [
        (True, 10),
        (False, 0),
        (False, 10),
    ]
    assert day["totals"] == {
        "earn_count": 2,
        "points_issued": 25 + 40 - 10,
        "purchase_cents": 2550 + 4000 - 1000,
        "redemption_count": 1,
        "points_redeemed": 20,
        "discount_cents": 20,
    }
    shop_day = (await client.get(f"{API}/till/today", headers=shop)).json()
    assert [e["transfer_id"] for e in shop_day["earns"]] == [other.json()["transfer_id"]]
    assert shop_day["redemptions"] == []
    assert isinstance(date.fromisoformat(shop_day["date"]), date)


async def test_float_is_for_the_owner_and_low_below_a_tenth_of_the_last_topup(
    client, world, sessionmaker, app
):
    state = await client.get(f"{API}/till/float", headers=world.headers("owner"))
    assert state.status_code == 200, state.text
    assert state.json() == {
        "balance": 100_000,
        "available": 100_000,
        "credit_limit": 0,
        "last_topup": 100_000,
        "low": False,
    }
    for who in ("cashier", "shopper", "admin"):
        assert_problem(await client.get(f"{API}/till/float", headers=world.headers(who)), 403)
    qr = await wallet_qr(sessionmaker, world, app.state.settings)
    # 9,100,000 cents at 1 point per euro: 91,000 points leave 9,000, under a tenth of 100,000.
    for _ in range(10):
        r = await client.post(
            f"{API}/till/earns",
            json={"scan": qr.qr_text, "purchase_cents": 910_000},
            headers=keyed(world),
        )
        assert r.status_code == 201, r.text
    low = (await client.get(f"{API}/till/float", headers=world.headers("owner"))).json()
    assert (low["available"], low["low"]) == (9_000, True)

    shop_owner = await staff_token(sessionmaker, client, world, world.shop, Role.MERCHANT_OWNER)
    empty = (await client.get(f"{API}/till/float", headers=shop_owner)).json()
    assert empty == {
        "balance": 0,
        "available": 0,
        "credit_limit": 0,
        "last_topup": None,
        "low": True,
    }
