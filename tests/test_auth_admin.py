"""Users and POS API keys, through HTTP: who may do what, in which municipality."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import func, select

from backend.auth.models import PosApiKey, User
from backend.core.errors import PROBLEM_MEDIA_TYPE
from tests.fixtures.auth import (  # noqa: F401  (auth_world is a fixture)
    PASSWORD,
    auth_world,
    bearer,
    create_pos_key,
    login_json,
    token,
    unique_email,
)

USERS = "/api/v1/users"
ME = "/api/v1/auth/me"
RAW_KEY = re.compile(r"^kp_pos_[A-Za-z0-9]{10}_[A-Za-z0-9_\-]{43}$")


def keys_url(merchant_id: int, key_id: int | None = None) -> str:
    base = f"/api/v1/merchants/{merchant_id}/pos-keys"
    return base if key_id is None else f"{base}/{key_id}"


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    body = response.json()
    assert body["code"] == code, body
    return body


async def count(session, model, *where) -> int:
    try:
        return await session.scalar(select(func.count()).select_from(model).where(*where))
    finally:
        await session.commit()


# --------------------------------------------------------------------------- users


async def test_admin_creates_staff_who_can_then_sign_in(client, auth_world):
    w = auth_world
    admin = bearer(await token(client, w, w.admin))
    email = unique_email("kassa")
    response = await client.post(
        USERS,
        headers=admin,
        json={
            "email": f" {email.upper()} ",
            "password": PASSWORD,
            "role": "cashier",
            "merchant_id": w.other_merchant.id,
            "display_name": "Kassa 2",
            "language": "fr",
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["email"] == email and created["role"] == "cashier"
    assert created["merchant_id"] == w.other_merchant.id and created["language"] == "fr"
    assert "password" not in created and "password_hash" not in created

    body = await login_json(client, tenant=w.tenant.slug, email=email)
    me = (await client.get(ME, headers=bearer(body["access_token"]))).json()
    assert me["merchant_id"] == w.other_merchant.id and me["display_name"] == "Kassa 2"

    for role in ("municipality_admin", "auditor"):
        made = await client.post(
            USERS,
            headers=admin,
            json={"email": unique_email(role), "password": PASSWORD, "role": role},
        )
        assert made.status_code == 201, made.text


async def test_merchant_owner_creates_cashiers_of_its_own_shop_only(client, auth_world):
    w = auth_world
    owner = bearer(await token(client, w, w.owner))
    made = await client.post(
        USERS,
        headers=owner,
        json={"email": unique_email(), "password": PASSWORD, "role": "cashier"},
    )
    assert made.status_code == 201, made.text
    assert made.json()["merchant_id"] == w.merchant.id

    other_shop = {
        "email": unique_email(),
        "password": PASSWORD,
        "role": "cashier",
        "merchant_id": w.other_merchant.id,
    }
    assert_problem(await client.post(USERS, headers=owner, json=other_shop), 403, "forbidden")
    for role in ("merchant_owner", "municipality_admin", "shopper"):
        body = {
            "email": unique_email(),
            "password": PASSWORD,
            "role": role,
            "merchant_id": w.merchant.id,
        }
        assert_problem(await client.post(USERS, headers=owner, json=body), 403, "role_not_allowed")


@pytest.mark.parametrize("who", ["auditor", "cashier", "shopper", "foreign_admin"])
async def test_other_roles_cannot_create_users_here(client, auth_world, session, who):
    w = auth_world
    headers = bearer(await token(client, w, getattr(w, who)))
    before = await count(session, User, User.tenant_id == w.tenant.id)
    body = {
        "email": unique_email(),
        "password": PASSWORD,
        "role": "cashier",
        "merchant_id": w.merchant.id,
    }
    response = await client.post(USERS, headers=headers, json=body)
    if who == "foreign_admin":
        # The merchant id belongs to another municipality: not found, not forbidden.
        assert_problem(response, 404, "merchant_not_found")
    else:
        assert_problem(response, 403, "forbidden")
    assert await count(session, User, User.tenant_id == w.tenant.id) == before


async def test_admin_cannot_create_shoppers(client, auth_world):
    w = auth_world
    admin = bearer(await token(client, w, w.admin))
    body = {"email": unique_email(), "password": PASSWORD, "role": "shopper"}
    assert_problem(await client.post(USERS, headers=admin, json=body), 403, "role_not_allowed")


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"email": "DUPLICATE"}, 409, "email_taken"),
        ({"email": "not-an-address"}, 422, "email_invalid"),
        ({"email": "two@@example.be"}, 422, "email_invalid"),
        ({"password": "short"}, 422, "password_too_weak"),
        ({"password": "          "}, 422, "password_too_weak"),
        ({"merchant_id": None}, 422, "merchant_required"),
        ({"role": "auditor"}, 422, "merchant_not_allowed"),
        ({"merchant_id": 999_999_999}, 404, "merchant_not_found"),
        ({"role": "superuser"}, 422, "validation_error"),
        ({"language": "Dutch"}, 422, "validation_error"),
        ({"is_active": False}, 422, "validation_error"),
        ({"merchant_id": "one"}, 422, "validation_error"),
    ],
)
async def test_bad_user_input_is_a_problem_and_writes_nothing(
    client, auth_world, session, changes, status, code
):
    w = auth_world
    admin = bearer(await token(client, w, w.admin))
    body = {
        "email": unique_email(),
        "password": PASSWORD,
        "role": "cashier",
        "merchant_id": w.merchant.id,
    }
    body.update(changes)
    if body["email"] == "DUPLICATE":
        body["email"] = w.owner.email.upper()
    before = await count(session, User)
    assert_problem(await client.post(USERS, headers=admin, json=body), status, code)
    assert await count(session, User) == before


async def test_user_lists_are_scoped_to_the_tenant_and_the_shop(client, auth_world):
    w = auth_world
    admin = bearer(await token(client, w, w.admin))
    listed = await client.get(USERS, headers=admin, params={"limit": 200})
    assert listed.status_code == 200, listed.text
    ids = {user["id"] for user in listed.json()["items"]}
    assert {
        w.admin.id,
        w.auditor.id,
        w.owner.id,
        w.cashier.id,
        w.shopper.id,
        w.other_owner.id,
    } <= ids
    assert w.foreign_admin.id not in ids and w.foreign_owner.id not in ids

    auditor = bearer(await token(client, w, w.auditor))
    owners = await client.get(USERS, headers=auditor, params={"role": "merchant_owner"})
    assert {u["id"] for u in owners.json()["items"]} == {w.owner.id, w.other_owner.id}

    owner = bearer(await token(client, w, w.owner))
    staff = await client.get(USERS, headers=owner)
    assert {u["id"] for u in staff.json()["items"]} == {w.owner.id, w.cashier.id}
    assert_problem(
        await client.get(USERS, headers=owner, params={"merchant_id": w.other_merchant.id}),
        403,
        "forbidden",
    )
    for who in (w.cashier, w.shopper):
        assert_problem(
            await client.get(USERS, headers=bearer(await token(client, w, who))), 403, "forbidden"
        )


async def test_user_list_pages_newest_first(client, auth_world):
    w = auth_world
    admin = bearer(await token(client, w, w.admin))
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(USERS, headers=admin, params=params)).json()
        seen += [user["id"] for user in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == 6
    assert_problem(
        await client.get(USERS, headers=admin, params={"cursor": "bogus"}), 400, "invalid_cursor"
    )


# --------------------------------------------------------------------------- POS keys


async def test_owner_creates_a_key_that_authenticates_the_till(client, auth_world, session):
    w = auth_world
    owner = bearer(await token(client, w, w.owner))
    response = await client.post(
        keys_url(w.merchant.id), headers=owner, json={"name": "Kassa voor"}
    )
    assert response.status_code == 201, response.text
    created = response.json()
    raw = created["key"]
    assert RAW_KEY.match(raw) and raw.startswith(f"kp_pos_{created['prefix']}_")
    assert created["merchant_id"] == w.merchant.id and created["created_by_user_id"] == w.owner.id

    stored = await session.scalar(select(PosApiKey.key_hash).where(PosApiKey.id == created["id"]))
    await session.commit()
    assert stored == hashlib.sha256(raw.encode()).hexdigest()

    listed = (await client.get(keys_url(w.merchant.id), headers=owner)).json()
    assert [k["id"] for k in listed] == [created["id"]]
    assert "key" not in listed[0] and raw not in str(listed)

    for headers in (bearer(raw), {"X-Api-Key": raw}):
        me = await client.get(ME, headers=headers)
        assert me.status_code == 200, me.text
        assert me.json()["role"] == "cashier"
        assert (
            me.json()["merchant_id"] == w.merchant.id and me.json()["api_key_id"] == created["id"]
        )
        assert me.json()["user_id"] is None and me.json()["display_name"] == "Kassa voor"

    # A till key is a cashier of its shop, not a manager of users or keys.
    till = bearer(raw)
    assert_problem(await client.get(USERS, headers=till), 403, "forbidden")
    assert_problem(
        await client.post(keys_url(w.merchant.id), headers=till, json={"name": "x"}),
        403,
        "forbidden",
    )


async def test_revoked_keys_stop_working_at_once(client, auth_world):
    w = auth_world
    admin = bearer(await token(client, w, w.admin))
    created = (
        await client.post(keys_url(w.merchant.id), headers=admin, json={"name": "Kassa"})
    ).json()
    raw = created["key"]
    assert (await client.get(ME, headers=bearer(raw))).status_code == 200
    for _ in range(2):
        revoked = await client.delete(keys_url(w.merchant.id, created["id"]), headers=admin)
        assert revoked.status_code == 204, revoked.text
    assert_problem(await client.get(ME, headers=bearer(raw)), 401, "api_key_invalid")
    listed = (await client.get(keys_url(w.merchant.id), headers=admin)).json()
    assert listed[0]["revoked_at"] is not None
    assert_problem(
        await client.delete(keys_url(w.merchant.id, 999_999_999), headers=admin),
        404,
        "api_key_not_found",
    )
    # A key id of another shop is not found under this one.
    assert_problem(
        await client.delete(keys_url(w.other_merchant.id, created["id"]), headers=admin),
        404,
        "api_key_not_found",
    )


async def test_forged_keys_are_refused(client, auth_world, session):
    w = auth_world
    _, raw = await create_pos_key(session, tenant_id=w.tenant.id, merchant_id=w.merchant.id)
    prefix_part, secret = raw[: len("kp_pos_") + 10], raw[len("kp_pos_") + 11 :]
    forged = {
        "wrong_secret": f"{prefix_part}_{'A' * len(secret)}",
        "unknown_prefix": f"kp_pos_ZZZZZZZZZZ_{secret}",
        "no_secret": f"{prefix_part}_",
        "truncated": raw[:-1],
        "no_scheme": raw[len("kp_pos_") :],
    }
    for name, bad in forged.items():
        response = await client.get(ME, headers={"X-Api-Key": bad})
        assert response.status_code == 401, (name, response.text)
        assert response.json()["code"] == "api_key_invalid", name
    assert (await client.get(ME, headers={"X-Api-Key": raw})).status_code == 200


async def test_who_may_manage_which_keys(client, auth_world):
    w = auth_world
    url = keys_url(w.merchant.id)
    owner = bearer(await token(client, w, w.owner))
    created = (await client.post(url, headers=owner, json={"name": "Kassa"})).json()
    delete_url = keys_url(w.merchant.id, created["id"])

    # The auditor reads everything and changes nothing.
    auditor = bearer(await token(client, w, w.auditor))
    assert (await client.get(url, headers=auditor)).status_code == 200
    assert_problem(await client.post(url, headers=auditor, json={"name": "x"}), 403, "forbidden")
    assert_problem(await client.delete(delete_url, headers=auditor), 403, "forbidden")

    # Same municipality, wrong shop or role: forbidden.
    for who in (w.other_owner, w.cashier, w.shopper):
        headers = bearer(await token(client, w, who))
        assert_problem(await client.get(url, headers=headers), 403, "forbidden")
        assert_problem(
            await client.post(url, headers=headers, json={"name": "x"}), 403, "forbidden"
        )
        assert_problem(await client.delete(delete_url, headers=headers), 403, "forbidden")

    # Another municipality cannot even tell that the shop exists.
    for who in (w.foreign_admin, w.foreign_owner):
        headers = bearer(await token(client, w, who))
        assert_problem(await client.get(url, headers=headers), 404, "merchant_not_found")
        assert_problem(
            await client.post(url, headers=headers, json={"name": "x"}), 404, "merchant_not_found"
        )
        assert_problem(await client.delete(delete_url, headers=headers), 404, "merchant_not_found")
        assert_problem(
            await client.get(keys_url(999_999_999), headers=headers), 404, "merchant_not_found"
        )

    # None of that changed anything.
    listed = (await client.get(url, headers=owner)).json()
    assert [(k["id"], k["revoked_at"]) for k in listed] == [(created["id"], None)]


async def test_bad_key_input(client, auth_world):
    w = auth_world
    owner = bearer(await token(client, w, w.owner))
    assert_problem(
        await client.post(keys_url(w.merchant.id), headers=owner, json={"name": ""}),
        422,
        "validation_error",
    )
    assert_problem(
        await client.post(keys_url(w.merchant.id), headers=owner, json={}), 422, "validation_error"
    )
    assert_problem(await client.get(keys_url(0), headers=owner), 422, "validation_error")
    assert_problem(await client.get(keys_url(w.merchant.id)), 401, "unauthorized")
