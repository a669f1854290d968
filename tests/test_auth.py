"""Sign-in, refresh sessions and access tokens, through HTTP."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from backend.auth.models import LoginThrottle, RefreshToken, Role
from backend.auth.service import MAX_LOGIN_FAILURES
from backend.auth.tokens import principal_from_access_token
from backend.core.errors import PROBLEM_MEDIA_TYPE
from backend.core.types import utcnow
from tests.fixtures.auth import PASSWORD, auth_world, bearer, forge_token, login_json, token  # noqa: F401

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"


def assert_problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    body = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    return body


async def scalar(session, statement):
    """Read, then end the transaction: on SQLite an open one holds the write lock."""
    try:
        return await session.scalar(statement)
    finally:
        await session.commit()


async def count(session, model, *where) -> int:
    return await scalar(session, select(func.count()).select_from(model).where(*where))


def key_of(app) -> tuple[str, str]:
    return next(iter(app.state.settings.signing_keys().items()))


# --------------------------------------------------------------------------- sign-in


async def test_login_returns_a_token_pair_and_me_describes_the_user(client, auth_world):
    body = await login_json(client, tenant=auth_world.tenant.slug, email=auth_world.owner.email)
    assert body["token_type"] == "bearer"
    assert body["role"] == "merchant_owner"
    assert body["tenant"] == auth_world.tenant.slug
    assert body["user_id"] == auth_world.owner.id
    assert body["expires_in"] > 0 and body["refresh_token"]

    me = await client.get(ME, headers=bearer(body["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json() == {
        "user_id": auth_world.owner.id,
        "role": "merchant_owner",
        "tenant": auth_world.tenant.slug,
        "tenant_id": auth_world.tenant.id,
        "merchant_id": auth_world.merchant.id,
        "shopper_id": None,
        "api_key_id": None,
        "email": auth_world.owner.email,
        "display_name": "",
        "language": "nl",
    }


async def test_email_is_matched_case_insensitively(client, auth_world):
    body = await login_json(
        client, tenant=auth_world.tenant.slug, email=f"  {auth_world.admin.email.upper()} "
    )
    assert body["user_id"] == auth_world.admin.id


async def test_shopper_token_carries_the_shopper_id(app, client, auth_world, session):
    from backend.wallets.models import Shopper

    shopper_id = await scalar(
        session, select(Shopper.id).where(Shopper.user_id == auth_world.shopper.id)
    )
    assert shopper_id is not None
    body = await login_json(client, tenant=auth_world.tenant.slug, email=auth_world.shopper.email)
    principal = principal_from_access_token(body["access_token"], settings=app.state.settings)
    assert principal.shopper_id == shopper_id and principal.role is Role.SHOPPER
    me = (await client.get(ME, headers=bearer(body["access_token"]))).json()
    assert me["shopper_id"] == shopper_id


async def test_login_uses_the_default_tenant_when_none_is_given(app, client, auth_world):
    original = app.state.settings
    app.state.settings = original.model_copy(update={"default_tenant": auth_world.tenant.slug})
    try:
        response = await client.post(
            LOGIN, json={"email": auth_world.auditor.email, "password": PASSWORD}
        )
    finally:
        app.state.settings = original
    assert response.status_code == 200, response.text
    assert response.json()["tenant"] == auth_world.tenant.slug


@pytest.mark.parametrize(
    "case", ["wrong_password", "unknown_email", "unknown_tenant", "other_tenant"]
)
async def test_every_wrong_credential_gives_the_same_error(client, auth_world, session, case):
    payload = {
        "tenant": auth_world.tenant.slug,
        "email": auth_world.admin.email,
        "password": PASSWORD,
    }
    if case == "wrong_password":
        payload["password"] = "not the password"
    elif case == "unknown_email":
        payload["email"] = "nobody@example.be"
    elif case == "unknown_tenant":
        payload["tenant"] = "no-such-town"
    else:
        payload["tenant"] = auth_world.foreign_tenant.slug
    before = await count(session, RefreshToken)
    response = await client.post(LOGIN, json=payload)
    body = assert_problem(response, 401, "invalid_credentials")
    assert response.headers["www-authenticate"] == "Bearer"
    assert "access_token" not in body
    assert await count(session, RefreshToken) == before


async def test_disabled_user_cannot_sign_in(client, auth_world, session):
    from backend.auth.models import User

    await session.execute(
        update(User).where(User.id == auth_world.cashier.id).values(is_active=False)
    )
    await session.commit()
    response = await client.post(
        LOGIN,
        json={
            "tenant": auth_world.tenant.slug,
            "email": auth_world.cashier.email,
            "password": PASSWORD,
        },
    )
    assert_problem(response, 401, "invalid_credentials")


@pytest.mark.parametrize(
    "payload",
    [
        {"email": "a@example.be"},
        {"email": "a@example.be", "password": ""},
        {"email": "a@example.be", "password": "x" * 2000},
        {"email": "a@example.be", "password": "long enough pw", "role": "admin"},
        [],
    ],
    ids=["missing_password", "empty_password", "huge_password", "unknown_field", "not_an_object"],
)
async def test_malformed_login_is_a_validation_problem(client, payload):
    response = await client.post(LOGIN, json=payload)
    body = assert_problem(response, 422, "validation_error")
    assert body["errors"]


async def test_login_is_locked_after_repeated_failures(client, auth_world, session):
    payload = {
        "tenant": auth_world.tenant.slug,
        "email": auth_world.auditor.email,
        "password": "wrong password!",
    }
    for _ in range(MAX_LOGIN_FAILURES):
        assert_problem(await client.post(LOGIN, json=payload), 401, "invalid_credentials")

    # The failures were counted although each request was rolled back.
    throttle = await scalar(
        session, select(LoginThrottle).where(LoginThrottle.tenant_id == auth_world.tenant.id)
    )
    assert throttle is not None and throttle.locked_until is not None

    locked = await client.post(LOGIN, json=payload | {"password": PASSWORD})
    body = assert_problem(locked, 429, "rate_limited")
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
    assert body["retry_after"] == int(locked.headers["retry-after"])

    # Another address of the same town is not affected.
    await login_json(client, tenant=auth_world.tenant.slug, email=auth_world.admin.email)

    # Once the lock has passed, the right password works and clears the counter.
    await session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.id == throttle.id)
        .values(locked_until=utcnow() - timedelta(seconds=1))
    )
    await session.commit()
    await login_json(client, tenant=auth_world.tenant.slug, email=auth_world.auditor.email)
    assert await count(session, LoginThrottle, LoginThrottle.id == throttle.id) == 0


async def test_unknown_addresses_are_throttled_too(client, auth_world):
    payload = {
        "tenant": auth_world.tenant.slug,
        "email": "ghost@example.be",
        "password": "whatever it is",
    }
    for _ in range(MAX_LOGIN_FAILURES):
        assert_problem(await client.post(LOGIN, json=payload), 401, "invalid_credentials")
    assert_problem(await client.post(LOGIN, json=payload), 429, "rate_limited")


# --------------------------------------------------------------------------- refresh


async def test_refresh_rotates_and_a_replayed_token_ends_the_session(client, auth_world, session):
    first = await login_json(client, tenant=auth_world.tenant.slug, email=auth_world.cashier.email)

    second = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["role"] == "cashier" and second["user_id"] == auth_world.cashier.id
    assert (await client.get(ME, headers=bearer(second["access_token"]))).status_code == 200

    # The first token again: somebody copied it. The whole family is revoked...
    replay = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert_problem(replay, 401, "refresh_token_reused")
    family = await scalar(
        session,
        select(RefreshToken.family_id).where(
            RefreshToken.token_hash == hashlib.sha256(first["refresh_token"].encode()).hexdigest()
        ),
    )
    assert await count(session, RefreshToken, RefreshToken.family_id == family) == 2
    assert (
        await count(
            session,
            RefreshToken,
            RefreshToken.family_id == family,
            RefreshToken.revoked_at.is_(None),
        )
        == 0
    )
    # ...so the successor is dead too.
    assert_problem(
        await client.post(REFRESH, json={"refresh_token": second["refresh_token"]}),
        401,
        "refresh_token_reused",
    )


async def test_concurrent_refreshes_with_one_token_let_only_one_win(client, auth_world):
    first = await login_json(client, tenant=auth_world.tenant.slug, email=auth_world.admin.email)
    responses = await asyncio.gather(
        *(client.post(REFRESH, json={"refresh_token": first["refresh_token"]}) for _ in range(2))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 401], [r.text for r in responses]


async def test_expired_and_unknown_refresh_tokens(client, auth_world, session):
    first = await login_json(client, tenant=auth_world.tenant.slug, email=auth_world.admin.email)
    digest = hashlib.sha256(first["refresh_token"].encode()).hexdigest()
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == digest)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await session.commit()
    assert_problem(
        await client.post(REFRESH, json={"refresh_token": first["refresh_token"]}),
        401,
        "refresh_token_expired",
    )
    assert_problem(
        await client.post(REFRESH, json={"refresh_token": "nope"}), 401, "refresh_token_invalid"
    )
    assert_problem(await client.post(REFRESH, json={}), 422, "validation_error")


async def test_refresh_refuses_a_disabled_user(client, auth_world, session):
    from backend.auth.models import User

    first = await login_json(client, tenant=auth_world.tenant.slug, email=auth_world.owner.email)
    await session.execute(
        update(User).where(User.id == auth_world.owner.id).values(is_active=False)
    )
    await session.commit()
    assert_problem(
        await client.post(REFRESH, json={"refresh_token": first["refresh_token"]}),
        401,
        "refresh_token_invalid",
    )
    # Nothing was written: the token is still unused.
    digest = hashlib.sha256(first["refresh_token"].encode()).hexdigest()
    used = await scalar(
        session, select(RefreshToken.used_at).where(RefreshToken.token_hash == digest)
    )
    assert used is None


async def test_logout_ends_the_session_and_is_idempotent(client, auth_world):
    first = await login_json(client, tenant=auth_world.tenant.slug, email=auth_world.admin.email)
    for _ in range(2):
        response = await client.post(LOGOUT, json={"refresh_token": first["refresh_token"]})
        assert response.status_code == 204 and response.content == b""
    assert (await client.post(LOGOUT, json={"refresh_token": "never-issued"})).status_code == 204
    assert_problem(
        await client.post(REFRESH, json={"refresh_token": first["refresh_token"]}),
        401,
        "refresh_token_reused",
    )


# --------------------------------------------------------------------------- access tokens


async def test_requests_without_a_token_are_unauthorized(client):
    assert_problem(await client.get(ME), 401, "unauthorized")
    assert_problem(
        await client.get(ME, headers={"Authorization": "Basic abc"}), 401, "unauthorized"
    )


async def test_expired_access_token(app, client, auth_world):
    kid, secret = key_of(app)
    expired = forge_token(
        secret,
        kid=kid,
        sub=str(auth_world.admin.id),
        tid=auth_world.tenant.id,
        iat=1_600_000_000,
        exp=1_600_000_900,
    )
    assert_problem(await client.get(ME, headers=bearer(expired)), 401, "token_expired")


async def test_tampered_access_tokens_are_invalid(app, client, auth_world):
    kid, secret = key_of(app)
    good = (
        await login_json(client, tenant=auth_world.tenant.slug, email=auth_world.cashier.email)
    )["access_token"]
    header, payload, signature = good.split(".")
    flipped = signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
    # Same signature, payload rewritten to claim the administrator role.
    import base64
    import json

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "municipality_admin"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    admin = {"sub": str(auth_world.admin.id), "tid": auth_world.tenant.id}
    bad_tokens = {
        "signature": f"{header}.{payload}.{flipped}",
        "payload": f"{header}.{forged_payload}.{signature}",
        "garbage": "not-a-jwt",
        "other_secret": forge_token(
            "another-secret-0123456789-abcdefghijklmnop", kid=kid, claims=admin
        ),
        "unknown_kid": forge_token(secret, kid="k9", claims=admin),
        "alg_none": forge_token("", kid=kid, claims=admin, algorithm="none"),
        "wrong_type": forge_token(secret, kid=kid, claims=admin, typ="refresh"),
        "unknown_role": forge_token(secret, kid=kid, claims=admin, role="superuser"),
        "missing_tenant": forge_token(secret, kid=kid, claims=admin, tid=None),
        "string_tenant": forge_token(secret, kid=kid, claims=admin, tid=str(auth_world.tenant.id)),
    }
    for name, bad in bad_tokens.items():
        response = await client.get(ME, headers=bearer(bad))
        assert response.status_code == 401, (name, response.text)
        assert response.json()["code"] == "token_invalid", (name, response.text)
    assert (await client.get(ME, headers=bearer(good))).status_code == 200


async def test_signing_key_rotation_by_kid(app, client, auth_world):
    original = app.state.settings
    old_kid, old_secret = key_of(app)
    new_secret = "rotated-signing-key-0123456789-abcdefghijkl"
    old_token = (
        await login_json(client, tenant=auth_world.tenant.slug, email=auth_world.admin.email)
    )["access_token"]
    try:
        # The new key signs, the old one still verifies.
        app.state.settings = original.model_copy(
            update={"jwt_keys": {"k2": new_secret, old_kid: old_secret}}
        )
        assert (await client.get(ME, headers=bearer(old_token))).status_code == 200
        new_token = (
            await login_json(client, tenant=auth_world.tenant.slug, email=auth_world.admin.email)
        )["access_token"]
        import jwt

        assert jwt.get_unverified_header(new_token)["kid"] == "k2"
        assert (await client.get(ME, headers=bearer(new_token))).status_code == 200

        # The old key removed: its tokens are refused, the new ones still work.
        app.state.settings = original.model_copy(update={"jwt_keys": {"k2": new_secret}})
        assert_problem(await client.get(ME, headers=bearer(old_token)), 401, "token_invalid")
        assert (await client.get(ME, headers=bearer(new_token))).status_code == 200
    finally:
        app.state.settings = original


async def test_token_of_one_tenant_sees_only_that_tenant(client, auth_world):
    foreign = await token(client, auth_world, auth_world.foreign_admin)
    me = (await client.get(ME, headers=bearer(foreign))).json()
    assert (
        me["tenant"] == auth_world.foreign_tenant.slug
        and me["tenant_id"] == auth_world.foreign_tenant.id
    )


async def test_password_hash_is_upgraded_on_sign_in_when_parameters_change(
    client, auth_world, session
):
    from argon2 import PasswordHasher

    from backend.auth import passwords
    from backend.auth.models import User

    old_hash = await scalar(
        session, select(User.password_hash).where(User.id == auth_world.auditor.id)
    )
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    passwords.set_hasher(stronger)  # the autouse fixture restores the previous one
    await login_json(client, tenant=auth_world.tenant.slug, email=auth_world.auditor.email)
    new_hash = await scalar(
        session, select(User.password_hash).where(User.id == auth_world.auditor.id)
    )
    assert new_hash != old_hash and not stronger.check_needs_rehash(new_hash)
    await login_json(client, tenant=auth_world.tenant.slug, email=auth_world.auditor.email)


async def test_a_new_shopper_gets_a_wallet(session, auth_world):
    from backend.ledger.models import Account, AccountType
    from backend.wallets.models import Shopper

    shopper_id = await scalar(
        session, select(Shopper.id).where(Shopper.user_id == auth_world.shopper.id)
    )
    wallet = await scalar(
        session,
        select(Account.id).where(
            Account.tenant_id == auth_world.tenant.id,
            Account.shopper_id == shopper_id,
            Account.type == AccountType.SHOPPER_WALLET,
        ),
    )
    assert wallet is not None
