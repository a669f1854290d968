"""Claim codes: the shop shows a single-use QR, a shopper scans it with the app and earns."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.auth.models import Role
from backend.core.db import transaction
from backend.core.types import utcnow
from backend.till import claims as claims_service
from backend.till import tokens as till_tokens
from backend.till.context import till_for_merchant
from tests.fixtures.auth import create_user
from tests.fixtures.factories import auth, login, make_tenant, new_key
from tests.fixtures.ledger import assert_problem, check_ledger
from tests.fixtures.till import (
    API,
    decode_png,
    keyed,
    render_png,
    set_merchant_status,
    set_rules,
    shopper_of,
    staff_token,
    writes,
)


@pytest.fixture
def settings(app):
    return app.state.settings


async def _claim_code(client, world, cents=2500):
    response = await client.post(
        f"{API}/till/claims", json={"purchase_cents": cents}, headers=keyed(world)
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _scan(client, world, qr_text, who="shopper", key=None, headers=None):
    return await client.post(
        f"{API}/me/claims",
        json={"qr_text": qr_text},
        headers={**(headers or world.headers(who)), "Idempotency-Key": key or new_key("claim")},
    )


async def _second_shopper(sessionmaker, client, world) -> dict[str, str]:
    async with sessionmaker() as session:
        user = await create_user(session, tenant_id=world.tenant.id, role=Role.SHOPPER)
    return auth(await login(client, tenant=world.tenant, user=user))


async def test_shop_shows_a_claim_code_and_a_shopper_earns_it_once(client, world, sessionmaker):
    code = await _claim_code(client, world)
    assert code["points"] == 25 and code["qr_text"].startswith("KPK1:")
    assert "<title>" in code["qr_svg"]
    png = render_png(
        code["qr_text"],
        scale=till_tokens.QR_SCALE,
        border=till_tokens.QR_BORDER,
        error=till_tokens.QR_ERROR,
    )
    scanned = decode_png(png)
    assert scanned == [code["qr_text"]]
    status_url = f"{API}/till/claims/{code['claim_id']}"
    assert (await client.get(status_url, headers=world.headers("cashier"))).json()[
        "status"
    ] == "open"

    first = await _scan(client, world, scanned[0], key="claim-scan-1")
    replay = await _scan(client, world, scanned[0], key="claim-scan-1")
    assert first.status_code == replay.status_code == 201, first.text
    assert first.json() == replay.json() and replay.headers.get("Idempotent-Replayed") == "true"
    assert first.json()["points"] == 25 and first.json()["merchant_name"] == world.bakery.name
    status = (await client.get(status_url, headers=world.headers("owner"))).json()
    assert status["status"] == "claimed" and status["claimed_at"] is not None

    other_shopper = await _second_shopper(sessionmaker, client, world)
    before = await writes(sessionmaker, world.tenant.id)
    assert_problem(await _scan(client, world, scanned[0]), 409, "claim_used")
    assert_problem(await _scan(client, world, scanned[0], headers=other_shopper), 409, "claim_used")
    assert await writes(sessionmaker, world.tenant.id) == before
    transfer = await _transfer(sessionmaker, world, first.json()["transfer_id"])
    shopper_id = await shopper_of(sessionmaker, world)
    assert transfer.kind == "earn" and transfer.debit_account_id == world.bakery_float.id
    assert (
        transfer.meta["claim_id"] == code["claim_id"]
        and transfer.meta["cashier_user_id"] == world.users["cashier"].id
    )
    assert transfer.meta["merchant_id"] == world.bakery.id and shopper_id
    await check_ledger(sessionmaker, world.tenant.id)


async def _transfer(sessionmaker, world, transfer_id):
    from tests.fixtures.till import transfer_row

    return await transfer_row(sessionmaker, world.tenant.id, transfer_id)


async def test_creating_a_claim_code_is_idempotent(client, world, sessionmaker):
    first = await client.post(
        f"{API}/till/claims",
        json={"purchase_cents": 1000},
        headers=keyed(world, key="claim-create-1"),
    )
    again = await client.post(
        f"{API}/till/claims",
        json={"purchase_cents": 1000},
        headers=keyed(world, key="claim-create-1"),
    )
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert_problem(
        await client.post(
            f"{API}/till/claims",
            json={"purchase_cents": 2000},
            headers=keyed(world, key="claim-create-1"),
        ),
        409,
        "idempotency_key_reused",
    )


async def test_an_expired_claim_code_earns_nothing(client, world, sessionmaker, settings):
    async with transaction(sessionmaker) as session:
        till = await till_for_merchant(
            session, tenant_id=world.tenant.id, merchant_id=world.bakery.id
        )
        issued = await claims_service.create_claim(
            session,
            till=till,
            purchase_cents=1000,
            idempotency_key=new_key(),
            settings=settings,
            now=utcnow() - timedelta(minutes=11),
        )
    before = await writes(sessionmaker, world.tenant.id)
    assert_problem(await _scan(client, world, issued.qr_text), 409, "claim_expired")
    assert await writes(sessionmaker, world.tenant.id) == before
    status = (
        await client.get(f"{API}/till/claims/{issued.row.id}", headers=world.headers("cashier"))
    ).json()
    assert status["status"] == "expired"


async def test_foreign_tampered_and_garbage_claim_codes(client, world, sessionmaker, settings):
    async with transaction(sessionmaker) as session:
        other = await make_tenant(session)
    foreign = "KPK1:" + till_tokens.sign(
        settings, {"typ": "claim", "tid": other.id, "jti": "x" * 16, "exp": 4_000_000_000}
    )
    code = await _claim_code(client, world)
    head, payload, signature = code["qr_text"][5:].split(".")
    wallet_typed = "KPK1:" + till_tokens.sign(
        settings, {"typ": "wallet", "tid": world.tenant.id, "jti": "y" * 16, "exp": 4_000_000_000}
    )
    before = await writes(sessionmaker, world.tenant.id)
    for text, status, problem in (
        (foreign, 422, "token_foreign"),
        (f"KPK1:{head}.{payload}.{signature[::-1]}", 422, "token_tampered"),
        (wallet_typed, 422, "token_tampered"),
        ("KPK1:garbage", 422, "token_tampered"),
        ("https://example.com", 422, "scan_unreadable"),
    ):
        assert_problem(await _scan(client, world, text), status, problem)
    assert await writes(sessionmaker, world.tenant.id) == before


async def test_claims_follow_the_daily_cap_and_the_shop_must_still_be_active(
    client, world, sessionmaker
):
    await set_rules(sessionmaker, world.tenant.id, daily_cap_points=30)
    other_shopper = await _second_shopper(sessionmaker, client, world)
    first = await _claim_code(client, world, 2000)
    second = await _claim_code(client, world, 2000)
    third = await _claim_code(client, world, 2000)
    assert (await _scan(client, world, first["qr_text"])).json()["points"] == 20
    assert (await _scan(client, world, second["qr_text"])).json()["points"] == 10
    before = await writes(sessionmaker, world.tenant.id)
    assert_problem(await _scan(client, world, third["qr_text"]), 409, "daily_cap_reached")
    assert await writes(sessionmaker, world.tenant.id) == before

    fourth = await _claim_code(client, world, 2000)
    await set_merchant_status(sessionmaker, world.bakery.id, "suspended")
    assert_problem(
        await _scan(client, world, fourth["qr_text"], headers=other_shopper),
        403,
        "merchant_suspended",
    )
    assert await writes(sessionmaker, world.tenant.id) == before
    await set_merchant_status(sessionmaker, world.bakery.id, "active")
    assert (await _scan(client, world, fourth["qr_text"], headers=other_shopper)).status_code == 201


async def test_claim_status_is_only_for_the_shop_that_made_it(client, world, sessionmaker):
    code = await _claim_code(client, world)
    shop_cashier = await staff_token(sessionmaker, client, world, world.shop, Role.CASHIER)
    for claim_id in (code["claim_id"], 10**12):
        assert_problem(
            await client.get(f"{API}/till/claims/{claim_id}", headers=shop_cashier),
            404,
            "claim_not_found",
        )
    for who in ("shopper", "admin"):
        assert_problem(
            await client.get(f"{API}/till/claims/{code['claim_id']}", headers=world.headers(who)),
            403,
        )


async def test_only_a_shopper_claims_and_bad_claim_bodies_are_refused(client, world, sessionmaker):
    code = await _claim_code(client, world)
    before = await writes(sessionmaker, world.tenant.id)
    for who in ("cashier", "owner", "admin"):
        assert_problem(await _scan(client, world, code["qr_text"], who=who), 403)
    for body in ({}, {"qr_text": ""}, {"qr_text": 5}, {"qr_text": "x" * 3000}):
        response = await client.post(f"{API}/me/claims", json=body, headers=keyed(world, "shopper"))
        assert_problem(response, 422, "validation_error")
    for cents in (0, -1, 1.5, "100", 10**15):
        response = await client.post(
            f"{API}/till/claims", json={"purchase_cents": cents}, headers=keyed(world)
        )
        assert_problem(response, 422, "validation_error")
    assert_problem(
        await client.post(f"{API}/till/claims", json={"purchase_cents": 50}, headers=keyed(world)),
        422,
        "purchase_below_minimum",
    )
    assert await writes(sessionmaker, world.tenant.id) == before
