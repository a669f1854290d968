"""Sign-up, e-mail verification and the shopper's profile, through HTTP."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.auth.models import EmailToken, User
from backend.core.db import transaction
from backend.core.types import utcnow
from backend.wallets.accounts import CONSENT_VERSION
from backend.wallets.models import Shopper
from tests.fixtures.auth import login_json
from tests.fixtures.ledger import assert_problem
from tests.fixtures.wallets import (
    API,
    link_token,
    new_tenant,
    outbox,
    sign_up,
    signup_body,
    tenant_rows,
)


async def test_signup_creates_an_account_signs_in_and_mails_a_verification_link(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker, name="Sint-Gillis-Waas")
    body = signup_body(tenant, email="  Lotte.Peeters@Example.BE ", first_name="Lotte")
    response = await client.post(f"{API}/signup", json=body)
    assert response.status_code == 201, response.text
    tokens = response.json()
    assert tokens["role"] == "shopper" and tokens["tenant"] == tenant.slug
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}

    profile = (await client.get(f"{API}/me/profile", headers=headers)).json()
    assert profile["email"] == "lotte.peeters@example.be"
    assert profile["first_name"] == "Lotte"
    assert profile["postcode"] == "9170" and profile["village"] is None
    assert profile["language"] == "nl"
    assert profile["email_verified"] is False
    assert profile["consent_version"] == CONSENT_VERSION and profile["consent_at"] is not None

    # Signed in with the same password from now on, and the wallet exists and is empty.
    await login_json(client, tenant=tenant.slug, email="lotte.peeters@example.be")
    wallet = (await client.get(f"{API}/me/wallet", headers=headers)).json()
    assert wallet["balance"] == 0

    mails = await outbox(sessionmaker, tenant.id)
    assert [(m.kind, m.to_email, m.status) for m in mails] == [
        ("verify_email", "lotte.peeters@example.be", "pending")
    ]
    assert mails[0].subject == "Bevestig je e-mailadres voor Sint-Gillis-Waas"
    assert "Hallo Lotte" in mails[0].body_text
    raw = link_token(mails[0].body_text, "http://localhost:8000/app/verify")

    # Only the digest is stored.
    async with sessionmaker() as session:
        stored = list(
            await session.scalars(select(EmailToken).where(EmailToken.tenant_id == tenant.id))
        )
    assert [t.token_hash for t in stored] == [hashlib.sha256(raw.encode()).hexdigest()]

    verified = await client.post(f"{API}/auth/verify-email", json={"token": raw})
    assert verified.status_code == 200, verified.text
    assert verified.json()["email"] == "lotte.peeters@example.be"
    profile = (await client.get(f"{API}/me/profile", headers=headers)).json()
    assert profile["email_verified"] is True
    # A second click on the same link is harmless.
    again = await client.post(f"{API}/auth/verify-email", json={"token": raw})
    assert again.status_code == 200
    assert again.json()["email_verified_at"] == verified.json()["email_verified_at"]


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("fr", "Confirmez votre adresse e-mail pour Testgemeente"),
        ("en", "Confirm your e-mail address for Testgemeente"),
    ],
)
async def test_verification_mail_in_the_shoppers_language(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    language: str,
    subject: str,
) -> None:
    tenant = await new_tenant(sessionmaker)
    shopper = await sign_up(client, sessionmaker, tenant, language=language, first_name="")
    (mail,) = await outbox(sessionmaker, tenant.id, to_email=shopper.email)
    assert mail.subject == subject
    assert ("Bonjour épargnant" if language == "fr" else "Hello saver") in mail.body_text


async def test_signup_without_postcode_is_fine(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    shopper = await sign_up(client, sessionmaker, tenant, postcode=...)
    profile = (await client.get(f"{API}/me/profile", headers=shopper.headers)).json()
    assert profile["postcode"] is None


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"consent": False}, 422, "consent_required"),
        ({"consent": ...}, 422, "consent_required"),
        ({"postcode": "0999"}, 422, "postcode_invalid"),
        ({"postcode": "10000"}, 422, "postcode_invalid"),
        ({"postcode": "9l70"}, 422, "postcode_invalid"),
        ({"language": "de"}, 422, "validation_error"),
        ({"email": "not-an-address"}, 422, "email_invalid"),
        ({"password": "short"}, 422, "password_too_weak"),
        ({"tenant": "no-such-town"}, 404, "tenant_not_found"),
        ({"is_admin": True}, 422, "validation_error"),
        ({"consent": "yes please"}, 422, "validation_error"),
    ],
)
async def test_bad_signups_are_refused_and_write_nothing(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    overrides: dict[str, object],
    status: int,
    code: str,
) -> None:
    tenant = await new_tenant(sessionmaker)
    before = await tenant_rows(sessionmaker, tenant.id)
    response = await client.post(f"{API}/signup", json=signup_body(tenant, **overrides))
    assert_problem(response, status, code)
    assert await tenant_rows(sessionmaker, tenant.id) == before


async def test_an_address_signs_up_once_per_municipality(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    other = await new_tenant(sessionmaker)
    first = await sign_up(client, sessionmaker, tenant)
    before = await tenant_rows(sessionmaker, tenant.id)
    response = await client.post(
        f"{API}/signup", json=signup_body(tenant, email=first.email.upper())
    )
    assert_problem(response, 409, "email_taken")
    assert await tenant_rows(sessionmaker, tenant.id) == before
    # Another town is another scheme: the same address may join there.
    await sign_up(client, sessionmaker, other, email=first.email)


async def test_verify_email_rejects_bad_expired_and_foreign_purpose_tokens(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    shopper = await sign_up(client, sessionmaker, tenant)
    (mail,) = await outbox(sessionmaker, tenant.id)
    raw = link_token(mail.body_text, "/app/verify")

    assert_problem(
        await client.post(f"{API}/auth/verify-email", json={"token": "x" * 43}),
        400,
        "email_token_invalid",
    )
    assert_problem(await client.post(f"{API}/auth/verify-email", json={}), 422, "validation_error")

    # A password-reset token is no verification token.
    await client.post(
        f"{API}/auth/password-reset", json={"tenant": tenant.slug, "email": shopper.email}
    )
    reset_mail = (await outbox(sessionmaker, tenant.id))[-1]
    reset_raw = link_token(reset_mail.body_text, "/app/reset-password")
    assert_problem(
        await client.post(f"{API}/auth/verify-email", json={"token": reset_raw}),
        400,
        "email_token_invalid",
    )

    async with transaction(sessionmaker) as session:
        await session.execute(
            update(EmailToken)
            .where(EmailToken.user_id == shopper.user_id, EmailToken.purpose == "verify_email")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert_problem(
        await client.post(f"{API}/auth/verify-email", json={"token": raw}),
        400,
        "email_token_expired",
    )
    async with sessionmaker() as session:
        user = await session.get(User, shopper.user_id)
    assert user is not None and user.email_verified_at is None


# --------------------------------------------------------------------------- profile


async def test_profile_update(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    shopper = await sign_up(client, sessionmaker, tenant)
    response = await client.patch(
        f"{API}/me/profile",
        headers=shopper.headers,
        json={"first_name": "  Lotte Marie ", "language": "fr", "postcode": "1000"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["first_name"], body["language"], body["postcode"]) == ("Lotte Marie", "fr", "1000")
    # Left-out fields stay; null removes the postcode.
    response = await client.patch(
        f"{API}/me/profile", headers=shopper.headers, json={"postcode": None}
    )
    body = response.json()
    assert (body["first_name"], body["language"], body["postcode"]) == ("Lotte Marie", "fr", None)
    async with sessionmaker() as session:
        row = await session.scalar(select(Shopper).where(Shopper.id == shopper.shopper_id))
        user = await session.get(User, shopper.user_id)
    assert row is not None and user is not None
    assert (row.language, user.language, user.display_name) == ("fr", "fr", "Lotte Marie")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"postcode": "999"}, "postcode_invalid"),
        ({"language": "xx"}, "validation_error"),
        ({"email": "other@example.be"}, "validation_error"),
        ({"first_name": "x" * 101}, "validation_error"),
    ],
)
async def test_bad_profile_updates_change_nothing(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    body: dict[str, object],
    code: str,
) -> None:
    tenant = await new_tenant(sessionmaker)
    shopper = await sign_up(client, sessionmaker, tenant)
    before = (await client.get(f"{API}/me/profile", headers=shopper.headers)).json()
    assert_problem(
        await client.patch(f"{API}/me/profile", headers=shopper.headers, json=body), 422, code
    )
    assert (await client.get(f"{API}/me/profile", headers=shopper.headers)).json() == before


async def test_profile_is_for_shoppers_only(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], world: object
) -> None:
    for who in ("admin", "auditor", "owner", "cashier"):
        response = await client.get(f"{API}/me/profile", headers=world.headers(who))  # type: ignore[attr-defined]
        assert_problem(response, 403, "forbidden")
    assert_problem(await client.get(f"{API}/me/profile"), 401)
