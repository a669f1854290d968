"""Forgotten and changed passwords: reset links, single use, sessions ended."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.auth.models import EmailToken, Role
from backend.core.db import transaction
from backend.core.types import utcnow
from backend.wallets.accounts import MAX_RESETS_PER_HOUR
from tests.fixtures.auth import PASSWORD
from tests.fixtures.ledger import assert_problem
from tests.fixtures.wallets import (
    API,
    SignedUp,
    link_token,
    new_tenant,
    outbox,
    sign_up,
    tenant_rows,
    user_row,
)

NEW_PASSWORD = "a much better passphrase"


async def _login(client: httpx.AsyncClient, shopper: SignedUp, password: str) -> httpx.Response:
    return await client.post(
        f"{API}/auth/login",
        json={"tenant": shopper.tenant.slug, "email": shopper.email, "password": password},
    )


async def _reset_token(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], shopper: SignedUp
) -> str:
    response = await client.post(
        f"{API}/auth/password-reset", json={"tenant": shopper.tenant.slug, "email": shopper.email}
    )
    assert response.status_code == 202
    mail = (await outbox(sessionmaker, shopper.tenant.id, to_email=shopper.email))[-1]
    assert mail.kind == "password_reset"
    return link_token(mail.body_text, "/app/reset-password")


async def test_reset_flow_sets_the_password_once_and_ends_every_session(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    shopper = await sign_up(client, sessionmaker, tenant, language="en")
    second_session = (await _login(client, shopper, PASSWORD)).json()["refresh_token"]
    raw = await _reset_token(client, sessionmaker, shopper)
    mail = (await outbox(sessionmaker, tenant.id, to_email=shopper.email))[-1]
    assert mail.subject == "New password for Testgemeente"
    assert "valid for 60 minutes" in mail.body_text

    response = await client.post(
        f"{API}/auth/password-reset/confirm", json={"token": raw, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 200, response.text
    assert_problem(await _login(client, shopper, PASSWORD), 401, "invalid_credentials")
    assert (await _login(client, shopper, NEW_PASSWORD)).status_code == 200
    for refresh_token in (shopper.refresh_token, second_session):
        refreshed = await client.post(f"{API}/auth/refresh", json={"refresh_token": refresh_token})
        assert refreshed.status_code == 401
    # Following the link proved the address.
    assert (await user_row(sessionmaker, shopper.user_id)).email_verified_at is not None

    again = await client.post(
        f"{API}/auth/password-reset/confirm",
        json={"token": raw, "new_password": "yet another one!"},
    )
    assert_problem(again, 400, "email_token_used")
    assert (await _login(client, shopper, NEW_PASSWORD)).status_code == 200


async def test_one_reset_link_used_makes_the_other_links_worthless(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    shopper = await sign_up(client, sessionmaker, tenant)
    first = await _reset_token(client, sessionmaker, shopper)
    second = await _reset_token(client, sessionmaker, shopper)
    ok = await client.post(
        f"{API}/auth/password-reset/confirm", json={"token": second, "new_password": NEW_PASSWORD}
    )
    assert ok.status_code == 200
    stale = await client.post(
        f"{API}/auth/password-reset/confirm",
        json={"token": first, "new_password": "other password!"},
    )
    assert_problem(stale, 400, "email_token_used")


async def test_reset_request_answers_alike_whether_or_not_the_account_exists(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    shopper = await sign_up(client, sessionmaker, tenant)
    before = await tenant_rows(sessionmaker, tenant.id)
    answers = []
    for body in (
        {"tenant": tenant.slug, "email": "nobody@example.be"},
        {"tenant": "no-such-town", "email": shopper.email},
        {"tenant": tenant.slug, "email": shopper.email.upper()},
    ):
        response = await client.post(f"{API}/auth/password-reset", json=body)
        answers.append((response.status_code, response.content))
    assert answers == [(202, b"")] * 3
    after = await tenant_rows(sessionmaker, tenant.id)
    # Only the existing account got a token and a mail.
    assert after["email_token"] == before["email_token"] + 1
    assert after["outbox_message"] == before["outbox_message"] + 1


async def test_reset_mails_are_limited_per_address(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    shopper = await sign_up(client, sessionmaker, tenant)
    for _ in range(MAX_RESETS_PER_HOUR + 3):
        response = await client.post(
            f"{API}/auth/password-reset", json={"tenant": tenant.slug, "email": shopper.email}
        )
        assert response.status_code == 202
    mails = await outbox(sessionmaker, tenant.id, to_email=shopper.email)
    assert [m.kind for m in mails].count("password_reset") == MAX_RESETS_PER_HOUR


async def test_reset_with_an_expired_or_unknown_token_or_weak_password(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    shopper = await sign_up(client, sessionmaker, tenant)
    raw = await _reset_token(client, sessionmaker, shopper)
    confirm = f"{API}/auth/password-reset/confirm"

    assert_problem(
        await client.post(confirm, json={"token": "nope" * 10, "new_password": NEW_PASSWORD}),
        400,
        "email_token_invalid",
    )
    # A weak password is refused without spending the link.
    assert_problem(
        await client.post(confirm, json={"token": raw, "new_password": "short"}),
        422,
        "password_too_weak",
    )
    assert_problem(
        await client.post(confirm, json={"token": raw, "new_password": NEW_PASSWORD, "x": 1}),
        422,
        "validation_error",
    )
    assert (await _login(client, shopper, PASSWORD)).status_code == 200

    async with transaction(sessionmaker) as session:
        await session.execute(
            update(EmailToken)
            .where(EmailToken.user_id == shopper.user_id, EmailToken.purpose == "password_reset")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert_problem(
        await client.post(confirm, json={"token": raw, "new_password": NEW_PASSWORD}),
        400,
        "email_token_expired",
    )
    assert (await _login(client, shopper, PASSWORD)).status_code == 200


# --------------------------------------------------------------------------- change password


async def test_change_password_keeps_my_session_and_ends_the_others(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    shopper = await sign_up(client, sessionmaker, tenant)
    other = (await _login(client, shopper, PASSWORD)).json()["refresh_token"]
    response = await client.post(
        f"{API}/auth/change-password",
        headers=shopper.headers,
        json={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "refresh_token": shopper.refresh_token,
        },
    )
    assert response.status_code == 204, response.text
    assert (
        await client.post(f"{API}/auth/refresh", json={"refresh_token": other})
    ).status_code == 401
    kept = await client.post(f"{API}/auth/refresh", json={"refresh_token": shopper.refresh_token})
    assert kept.status_code == 200
    assert_problem(await _login(client, shopper, PASSWORD), 401)
    assert (await _login(client, shopper, NEW_PASSWORD)).status_code == 200


async def test_change_password_without_my_token_ends_all_sessions(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    shopper = await sign_up(client, sessionmaker, tenant)
    response = await client.post(
        f"{API}/auth/change-password",
        headers=shopper.headers,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 204
    refreshed = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": shopper.refresh_token}
    )
    assert refreshed.status_code == 401


async def test_wrong_current_password_is_refused_counted_and_changes_nothing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    shopper = await sign_up(client, sessionmaker, tenant)
    body = {"current_password": "wrong password!", "new_password": NEW_PASSWORD}
    for _ in range(5):
        response = await client.post(
            f"{API}/auth/change-password", headers=shopper.headers, json=body
        )
        assert_problem(response, 403, "password_incorrect")
    # The guesses count towards the sign-in lockout: even the right password waits now.
    right = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    locked = await client.post(f"{API}/auth/change-password", headers=shopper.headers, json=right)
    assert_problem(locked, 429, "rate_limited")
    assert_problem(await _login(client, shopper, PASSWORD), 429)
    refreshed = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": shopper.refresh_token}
    )
    assert refreshed.status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"current_password": PASSWORD, "new_password": "short"}, 422, "password_too_weak"),
        ({"current_password": PASSWORD}, 422, "validation_error"),
        (
            {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "x": 1},
            422,
            "validation_error",
        ),
    ],
)
async def test_bad_change_password_requests_change_nothing(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    body: dict[str, object],
    status: int,
    code: str,
) -> None:
    tenant = await new_tenant(sessionmaker)
    shopper = await sign_up(client, sessionmaker, tenant)
    before = (await user_row(sessionmaker, shopper.user_id)).password_hash
    response = await client.post(f"{API}/auth/change-password", headers=shopper.headers, json=body)
    assert_problem(response, status, code)
    assert (await user_row(sessionmaker, shopper.user_id)).password_hash == before
    assert_problem(
        await client.post(
            f"{API}/auth/change-password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        ),
        401,
    )


async def test_staff_change_their_password_too(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], world: object
) -> None:
    admin = world.users["admin"]  # type: ignore[attr-defined]
    response = await client.post(
        f"{API}/auth/change-password",
        headers=world.headers("admin"),  # type: ignore[attr-defined]
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 204
    login = await client.post(
        f"{API}/auth/login",
        json={"tenant": world.tenant.slug, "email": admin.email, "password": NEW_PASSWORD},  # type: ignore[attr-defined]
    )
    assert login.status_code == 200 and login.json()["role"] == Role.MUNICIPALITY_ADMIN
