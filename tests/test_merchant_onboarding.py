"""Merchant onboarding over HTTP: the public application, the municipality's decisions
(approve, reject, suspend, reactivate), the owner's invitation and who may do what."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.auth.models import EmailToken, Role, User
from backend.core.db import transaction
from backend.ledger.models import Account
from backend.merchants.models import Merchant
from backend.merchants.service import normalize_vat, valid_vat
from backend.notifications.models import OutboxMessage
from backend.tenants.models import Tenant
from tests.fixtures.factories import World, auth, make_world
from tests.fixtures.ledger import assert_problem
from tests.fixtures.till import keyed, staff_token, wallet_qr
from tests.fixtures.wallets import link_token, outbox

API = "/api/v1"
VILLAGES = ["Sint-Gillis", "De Klinge", "Meerdonk", "Sint-Pauwels"]
GOOD_VAT = "BE0123456749"  # 97 - 01234567 % 97 = 49
GOOD_IBAN = "BE68539007547034"
NEW_PASSWORD = "a fresh owner password"


@pytest.fixture
def settings(app):
    return app.state.settings


async def _with_villages(sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant) -> None:
    async with transaction(sessionmaker) as session:
        await session.execute(update(Tenant).where(Tenant.id == tenant.id).values(villages=VILLAGES))


@pytest.fixture
async def town(sessionmaker, client, world: World) -> World:
    await _with_villages(sessionmaker, world.tenant)
    return world


def application(world: World, **overrides: Any) -> dict[str, Any]:
    body = {
        "tenant": world.tenant.slug,
        "name": "Schoenen Van Damme",
        "category": "shoes",
        "village": "De Klinge",
        "address": "Kerkstraat 12",
        "postcode": "9170",
        "vat_number": "BE 0123.456.749",
        "iban": "BE68 5390 0754 7034",
        "contact_name": "Els Van Damme",
        "contact_email": f"els-{world.tenant.slug}@example.be",
        "contact_phone": "+32 3 770 12 34",
        "language": "nl",
    }
    body.update(overrides)
    return body


async def _apply(client: httpx.AsyncClient, world: World, **overrides: Any) -> dict[str, Any]:
    response = await client.post(f"{API}/merchant-applications", json=application(world, **overrides))
    assert response.status_code == 201, response.text
    return response.json()


async def _counts(sessionmaker: async_sessionmaker[AsyncSession], tenant_id: int) -> dict[str, int]:
    async with sessionmaker() as session:
        counts = {}
        for model in (Merchant, User, Account, EmailToken, OutboxMessage):
            counts[model.__tablename__] = int(
                await session.scalar(select(func.count()).select_from(model).where(model.tenant_id == tenant_id))
            )
        await session.rollback()
    return counts


async def _merchant(sessionmaker: async_sessionmaker[AsyncSession], merchant_id: int) -> Merchant:
    async with sessionmaker() as session:
        merchant = await session.get(Merchant, merchant_id)
        if merchant is not None:
            session.expunge(merchant)
        await session.rollback()
    assert merchant is not None
    return merchant


def test_vat_numbers_are_normalised_and_mod97_checked() -> None:
    assert normalize_vat("be 0123.456.749") == GOOD_VAT
    assert normalize_vat("0123456749") == GOOD_VAT
    assert valid_vat("BE0123456749") == GOOD_VAT
    assert valid_vat(vat(10_000_000)).startswith("BE1")  # the 1-series of enterprise numbers
    for bad in ("BE0123456789", "BE2123456749", "NL0123456749", "BE012345674"):
        with pytest.raises(Exception) as caught:
            valid_vat(bad)
        assert getattr(caught.value, "code", "") == "vat_number_invalid"


async def test_the_public_form_lists_the_villages_and_categories(client, town):
    response = await client.get(f"{API}/merchant-applications/form", params={"tenant": town.tenant.slug})
    assert response.status_code == 200, response.text
    form = response.json()
    assert form["villages"] == VILLAGES and form["tenant_name"] == town.tenant.name
    assert "bakery" in form["categories"] and "fashion" in form["categories"]
    assert_problem(await client.get(f"{API}/merchant-applications/form", params={"tenant": "no-such-town"}), 404)


async def test_an_application_creates_a_pending_shop_with_clean_details(client, town, sessionmaker):
    received = await _apply(client, town, village="de klinge")
    assert received["status"] == "pending" and received["name"] == "Schoenen Van Damme"
    merchant = await _merchant(sessionmaker, received["id"])
    assert merchant.tenant_id == town.tenant.id and merchant.status == "pending"
    assert (merchant.vat_number, merchant.iban, merchant.village) == (GOOD_VAT, GOOD_IBAN, "De Klinge")
    assert (merchant.contact_name, merchant.contact_phone) == ("Els Van Damme", "+32 3 770 12 34")
    counts = await _counts(sessionmaker, town.tenant.id)
    # No ledger accounts and no owner before the municipality approves.
    async with sessionmaker() as session:
        accounts = await session.scalar(select(func.count()).select_from(Account).where(Account.merchant_id == merchant.id))
        owners = await session.scalar(select(func.count()).select_from(User).where(User.merchant_id == merchant.id))
        await session.rollback()
    assert (accounts, owners) == (0, 0) and counts["merchant"] == 3


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"iban": "BE68539007547035"}, 422, "iban_invalid"),
        ({"iban": "BE685390075470"}, 422, "iban_invalid"),
        ({"vat_number": "BE0123456789"}, 422, "vat_number_invalid"),
        ({"vat_number": "FR12345678901"}, 422, "vat_number_invalid"),
        ({"village": "Antwerpen"}, 422, "village_unknown"),
        ({"contact_email": "not-an-address"}, 422, "email_invalid"),
        ({"contact_phone": "call me maybe"}, 422, "phone_invalid"),
        ({"category": "casino"}, 422, "validation_error"),
        ({"name": ""}, 422, "validation_error"),
        ({"status": "active"}, 422, "validation_error"),
        ({"tenant": "no-such-town"}, 404, None),
    ],
)
async def test_bad_applications_are_refused_and_write_nothing(client, town, sessionmaker, overrides, status, code):
    before = await _counts(sessionmaker, town.tenant.id)
    assert_problem(
        await client.post(f"{API}/merchant-applications", json=application(town, **overrides)), status, code
    )
    assert await _counts(sessionmaker, town.tenant.id) == before


def vat(first_eight: int) -> str:
    """A valid Belgian VAT number from its first eight digits."""
    return f"BE{first_eight:08d}{97 - first_eight % 97:02d}"


async def test_one_vat_number_applies_once_and_one_address_only_a_few_times_an_hour(client, town, sessionmaker):
    await _apply(client, town)
    assert_problem(
        await client.post(f"{API}/merchant-applications", json=application(town, contact_email="other@example.be")),
        409,
        "vat_number_taken",
    )
    await _apply(client, town, vat_number=vat(10_000_000))
    await _apply(client, town, vat_number=vat(4_567_890))
    before = await _counts(sessionmaker, town.tenant.id)
    assert_problem(
        await client.post(f"{API}/merchant-applications", json=application(town, vat_number=vat(5_555_555))),
        429,
        "rate_limited",
    )
    assert await _counts(sessionmaker, town.tenant.id) == before
    # Somebody else may still apply.
    await _apply(client, town, vat_number=vat(5_555_555), contact_email="jan@example.be")


async def _approve(client: httpx.AsyncClient, world: World, merchant_id: int) -> httpx.Response:
    return await client.post(f"{API}/merchants/{merchant_id}/approve", headers=world.headers("admin"))


async def test_approval_opens_the_ledger_creates_the_owner_and_mails_a_set_password_link(
    client, town, sessionmaker
):
    applied = await _apply(client, town)
    pending = await client.get(f"{API}/merchants", params={"status": "pending"}, headers=town.headers("admin"))
    assert pending.status_code == 200, pending.text
    assert [m["id"] for m in pending.json()["items"]] == [applied["id"]]
    assert pending.json()["items"][0]["contact_email"] == application(town)["contact_email"]

    approved = await _approve(client, town, applied["id"])
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "active" and body["owner_user_id"] > 0
    async with sessionmaker() as session:
        codes = set(await session.scalars(select(Account.code).where(Account.merchant_id == applied["id"])))
        owner = await session.get(User, body["owner_user_id"])
        assert owner is not None
        session.expunge(owner)
        await session.rollback()
    assert codes == {f"merchant:{applied['id']}:float", f"merchant:{applied['id']}:redeemed"}
    assert owner is not None and owner.role == Role.MERCHANT_OWNER and owner.merchant_id == applied["id"]

    email = application(town)["contact_email"]
    # Nobody can sign in as the owner before the link is used.
    login = {"tenant": town.tenant.slug, "email": email, "password": NEW_PASSWORD}
    assert_problem(await client.post(f"{API}/auth/login", json=login), 401, "invalid_credentials")
    mails = await outbox(sessionmaker, town.tenant.id, to_email=email)
    assert [m.kind for m in mails] == ["merchant_invite"]
    assert "Schoenen Van Damme" in mails[0].subject
    token = link_token(mails[0].body_text, "/merchant/set-password")

    assert_problem(
        await client.post(f"{API}/merchant-invitations/accept", json={"token": token, "password": "short"}),
        422,
        "password_too_weak",
    )
    accepted = await client.post(f"{API}/merchant-invitations/accept", json={"token": token, "password": NEW_PASSWORD})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["role"] == "merchant_owner"
    me = await client.get(f"{API}/auth/me", headers=auth(accepted.json()["access_token"]))
    assert me.json()["merchant_id"] == applied["id"]
    signed_in = await client.post(f"{API}/auth/login", json=login)
    assert signed_in.status_code == 200, signed_in.text
    assert_problem(
        await client.post(f"{API}/merchant-invitations/accept", json={"token": token, "password": "another password 1"}),
        400,
        "email_token_used",
    )
    assert_problem(
        await client.post(f"{API}/merchant-invitations/accept", json={"token": "x" * 40, "password": NEW_PASSWORD}),
        400,
        "email_token_invalid",
    )
    # Approving twice is a conflict, not a second owner.
    before = await _counts(sessionmaker, town.tenant.id)
    assert_problem(await _approve(client, town, applied["id"]), 409, "merchant_status_conflict")
    assert await _counts(sessionmaker, town.tenant.id) == before


async def test_rejection_needs_a_reason_and_is_final(client, town, sessionmaker):
    applied = await _apply(client, town)
    url = f"{API}/merchants/{applied['id']}/reject"
    assert_problem(await client.post(url, json={}, headers=town.headers("admin")), 422, "validation_error")
    rejected = await client.post(url, json={"reason": "Geen winkel in de gemeente"}, headers=town.headers("admin"))
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["status_reason"] == "Geen winkel in de gemeente"
    before = await _counts(sessionmaker, town.tenant.id)
    assert_problem(await _approve(client, town, applied["id"]), 409, "merchant_status_conflict")
    assert await _counts(sessionmaker, town.tenant.id) == before
    # The VAT number may apply again once rejected.
    await _apply(client, town, contact_email="els2@example.be")


async def test_a_suspended_shop_cannot_earn_or_redeem_but_its_shoppers_spend_elsewhere(
    client, town, sessionmaker, settings
):
    qr = await wallet_qr(sessionmaker, town, settings)
    earned = await client.post(
        f"{API}/till/earns", json={"scan": qr.qr_text, "purchase_cents": 5000}, headers=keyed(town)
    )
    assert earned.status_code == 201, earned.text
    points = earned.json()["points"]
    assert points > 0

    url = f"{API}/merchants/{town.bakery.id}"
    assert_problem(await client.post(f"{url}/suspend", json={"reason": ""}, headers=town.headers("admin")), 422)
    suspended = await client.post(f"{url}/suspend", json={"reason": "Fraude onderzocht"}, headers=town.headers("admin"))
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"

    qr = await wallet_qr(sessionmaker, town, settings)
    for path, body in (
        ("/till/earns", {"scan": qr.qr_text, "purchase_cents": 1000}),
        ("/till/redemptions", {"scan": qr.qr_text, "points": 1}),
    ):
        assert_problem(await client.post(f"{API}{path}", json=body, headers=keyed(town)), 403, "merchant_suspended")

    shop_cashier = await staff_token(sessionmaker, client, town, town.shop, Role.CASHIER)
    spent = await client.post(
        f"{API}/till/redemptions",
        json={"scan": qr.qr_text, "points": points},
        headers={**shop_cashier, "Idempotency-Key": "spend-elsewhere"},
    )
    assert spent.status_code == 201, spent.text

    assert_problem(await client.post(f"{url}/suspend", json={"reason": "again"}, headers=town.headers("admin")), 409)
    back = await client.post(f"{url}/reactivate", json={}, headers=town.headers("admin"))
    assert back.status_code == 200 and back.json()["status"] == "active", back.text
    qr = await wallet_qr(sessionmaker, town, settings, shopper_id=town.bert.id)
    again = await client.post(
        f"{API}/till/earns", json={"scan": qr.qr_text, "purchase_cents": 1000}, headers=keyed(town)
    )
    assert again.status_code == 201, again.text


@pytest.mark.parametrize("who", ["auditor", "owner", "cashier", "shopper"])
async def test_only_an_administrator_decides(client, town, sessionmaker, who):
    applied = await _apply(client, town)
    before = await _counts(sessionmaker, town.tenant.id)
    for action, body in (("approve", None), ("reject", {"reason": "nee"}), ("suspend", {"reason": "nee"})):
        assert_problem(
            await client.post(f"{API}/merchants/{applied['id']}/{action}", json=body, headers=town.headers(who)), 403
        )
    assert_problem(
        await client.post(f"{API}/merchants/{town.bakery.id}/suspend", json={"reason": "nee"}, headers=town.headers(who)),
        403,
    )
    assert await _counts(sessionmaker, town.tenant.id) == before
    listing = await client.get(f"{API}/merchants", headers=town.headers(who))
    if who == "auditor":
        assert listing.status_code == 200 and {m["id"] for m in listing.json()["items"]} >= {applied["id"]}
        assert (await client.get(f"{API}/merchants/{applied['id']}", headers=town.headers(who))).status_code == 200
    else:
        assert_problem(listing, 403)
        assert_problem(await client.get(f"{API}/merchants/{applied['id']}", headers=town.headers(who)), 403)
    assert_problem(await client.get(f"{API}/merchants"), 401)


async def test_another_municipality_sees_nothing(client, town, sessionmaker):
    applied = await _apply(client, town)
    other = await make_world(sessionmaker, client, float_points=0)
    listing = await client.get(f"{API}/merchants", headers=other.headers("admin"))
    assert applied["id"] not in {m["id"] for m in listing.json()["items"]}
    before = await _counts(sessionmaker, town.tenant.id)
    for merchant_id in (applied["id"], town.bakery.id):
        assert_problem(await client.get(f"{API}/merchants/{merchant_id}", headers=other.headers("admin")), 404, "merchant_not_found")
        assert_problem(await _approve(client, other, merchant_id), 404, "merchant_not_found")
        assert_problem(
            await client.post(f"{API}/merchants/{merchant_id}/suspend", json={"reason": "nee"}, headers=other.headers("admin")),
            404,
        )
    assert await _counts(sessionmaker, town.tenant.id) == before


async def test_the_list_filters_by_status_category_village_and_text(client, town):
    applied = await _apply(client, town)
    headers = town.headers("admin")

    async def ids(**params: str) -> set[int]:
        response = await client.get(f"{API}/merchants", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return {m["id"] for m in response.json()["items"]}

    assert await ids() == {applied["id"], town.bakery.id, town.shop.id}
    assert await ids(status="active") == {town.bakery.id, town.shop.id}
    assert await ids(category="books") == {town.shop.id}
    assert await ids(village="De Klinge") == {applied["id"]}
    assert await ids(q="van damme") == {applied["id"]}
    assert await ids(limit="1") == {applied["id"]}
    assert_problem(await client.get(f"{API}/merchants", params={"status": "sleeping"}, headers=headers), 422)


async def _merchant_audit(client: httpx.AsyncClient, world: World, merchant_id: int) -> list[dict[str, Any]]:
    response = await client.get(
        f"{API}/audit", params={"entity_type": "merchant", "limit": 50}, headers=world.headers("auditor")
    )
    assert response.status_code == 200, response.text
    # Oldest first reads like the story of the shop.
    return [e for e in reversed(response.json()["items"]) if e["entity_id"] == str(merchant_id)]


async def test_every_decision_is_in_the_audit_log_with_who_before_and_after(client, town):
    admin_id = town.users["admin"].id
    applied = await _apply(client, town)
    refused = await _apply(client, town, vat_number=vat(10_000_000), contact_email="x@example.be")
    assert (await _approve(client, town, applied["id"])).status_code == 200
    url = f"{API}/merchants/{applied['id']}"
    for action, reason in (("suspend", "Fraude onderzocht"), ("reactivate", "Opgehelderd")):
        response = await client.post(f"{url}/{action}", json={"reason": reason}, headers=town.headers("admin"))
        assert response.status_code == 200, response.text
    rejected = await client.post(
        f"{API}/merchants/{refused['id']}/reject", json={"reason": "Geen winkel"}, headers=town.headers("admin")
    )
    assert rejected.status_code == 200, rejected.text
    # A refused change (already active) leaves no trace: the entry shares the transaction.
    assert_problem(await _approve(client, town, applied["id"]), 409, "merchant_status_conflict")

    events = await _merchant_audit(client, town, applied["id"])
    assert [e["action"] for e in events] == [
        "merchant.approve", "user.invite", "merchant.suspend", "merchant.reactivate"
    ]
    assert {e["actor_user_id"] for e in events} == {admin_id}
    approve, invite, suspend, reactivate = events
    assert approve["before"]["status"] == "pending" and approve["after"]["status"] == "active"
    assert approve["after"]["name"] == "Schoenen Van Damme"
    assert invite["after"]["role"] == "merchant_owner" and invite["after"]["email"] == application(town)["contact_email"]
    assert suspend["before"]["status"] == "active"
    assert suspend["after"] == {**suspend["before"], "status": "suspended", "status_reason": "Fraude onderzocht"}
    assert reactivate["before"]["status"] == "suspended" and reactivate["after"]["status"] == "active"
    assert reactivate["after"]["status_reason"] == "Opgehelderd"

    [reject] = await _merchant_audit(client, town, refused["id"])
    assert reject["action"] == "merchant.reject"
    assert reject["before"]["status"] == "pending"
    assert reject["after"]["status"] == "rejected" and reject["after"]["status_reason"] == "Geen winkel"
    # The log's search finds the shop by a value it had.
    found = await client.get(f"{API}/audit", params={"q": "fraude"}, headers=town.headers("admin"))
    assert [e["action"] for e in found.json()["items"]] == ["merchant.reactivate", "merchant.suspend"]
