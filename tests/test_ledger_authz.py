"""Who may call the ledger API: every role (and no role) against every endpoint.

Reads (accounts, balances, entries, transfers, holds, verify) are for municipality
admins and auditors; writes for admins only; shop staff, shoppers and till keys get a
403; a missing, expired, forged or garbled credential gets a 401. A refused request
writes nothing. An admin of another municipality never sees or moves this one's
accounts, transfers or holds: they do not exist for them (404, not 403).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
import pytest_asyncio

from backend.auth import service as auth_service
from backend.core.db import transaction
from tests.conftest import TEST_JWT_KEYS
from tests.fixtures.factories import World, auth, make_world, new_key
from tests.fixtures.ledger import API, assert_problem, check_ledger, snapshot

KID, SECRET = next(iter(TEST_JWT_KEYS.items()))


def forged(world: World, *, secret: str = SECRET, kid: str = KID, **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "sub": str(world.users["admin"].id),
        "tid": world.tenant.id,
        "role": "municipality_admin",
        "iat": now,
        "exp": now + 600,
        "typ": "access",
        "jti": uuid.uuid4().hex,
        **claims,
    }
    return jwt.encode(payload, secret, algorithm="HS256", headers={"kid": kid})


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def town(sessionmaker, client) -> World:  # noqa: ANN001
    return await make_world(sessionmaker, client, float_points=1_000_000)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def other_town(sessionmaker, client) -> World:  # noqa: ANN001
    return await make_world(sessionmaker, client)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def pos_key(sessionmaker, town) -> str | None:  # noqa: ANN001
    if not hasattr(auth_service, "create_pos_api_key"):
        return None
    async with transaction(sessionmaker) as session:
        _, raw = await auth_service.create_pos_api_key(
            session, tenant_id=town.tenant.id, merchant_id=town.bakery.id, name="Till 1", created_by_user_id=None
        )
    return raw


def callers(world: World, pos_key: str | None) -> dict[str, dict[str, str]]:
    """Credentials by name; each maps to its headers."""
    found = {name: auth(world.tokens[name]) for name in ("admin", "auditor", "owner", "cashier", "shopper")}
    found.update(
        {
            "no-token": {},
            "expired": auth(forged(world, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)),
            "garbage": auth("not-a-token"),
            "wrong-scheme": {"Authorization": f"Basic {world.tokens['admin']}"},
            "forged-signature": auth(forged(world, secret="somebody-elses-key-0123456789-abcdefghij")),
            "unknown-kid": auth(forged(world, kid="k-retired")),
            "forged-role": auth(forged(world, role="superuser")),
            "bad-api-key": {"X-Api-Key": "kp_pos_nope_nope"},
        }
    )
    if pos_key is not None:
        found["pos-key"] = {"X-Api-Key": pos_key}
        found["pos-key-as-bearer"] = auth(pos_key)
    return found


UNAUTHENTICATED = {"no-token", "expired", "garbage", "wrong-scheme", "forged-signature", "unknown-kid", "forged-role", "bad-api-key"}
READERS = {"admin", "auditor"}
WRITERS = {"admin"}


@dataclass
class Endpoint:
    name: str
    method: str
    write: bool
    # Builds (path, json body) against the given municipality; may create what it needs.
    target: Callable[["Ctx", World], Awaitable[tuple[str, Any]]]
    ok: int = 200


@dataclass
class Ctx:
    client: httpx.AsyncClient
    sessionmaker: Any

    async def post(self, world: World, path: str, body: Any, *, expect: int = 201) -> dict:
        response = await self.client.post(
            f"{API}{path}", json=body, headers=world.headers(**{"Idempotency-Key": new_key()})
        )
        assert response.status_code == expect, response.text
        return response.json()

    async def earn(self, world: World, amount: int = 30) -> dict:
        body = {"kind": "earn", "debit_account_id": world.bakery_float.id, "credit_account_id": world.an_wallet.id, "amount": amount}
        return await self.post(world, "/transfers", body)

    async def hold(self, world: World) -> dict:
        await self.earn(world, 30)
        body = {"debit_account_id": world.an_wallet.id, "credit_account_id": world.bakery_redeemed.id, "amount": 30}
        return await self.post(world, "/holds", body)


async def _static(path: str) -> tuple[str, Any]:
    return path, None


ENDPOINTS = [
    Endpoint("list-accounts", "GET", False, lambda c, w: _static("/accounts")),
    Endpoint("get-account", "GET", False, lambda c, w: _static(f"/accounts/{w.an_wallet.id}")),
    Endpoint("get-balance", "GET", False, lambda c, w: _static(f"/accounts/{w.an_wallet.id}/balance")),
    Endpoint("list-entries", "GET", False, lambda c, w: _static(f"/accounts/{w.bakery_float.id}/entries")),
    Endpoint("list-transfers", "GET", False, lambda c, w: _static("/transfers")),
    Endpoint("list-holds", "GET", False, lambda c, w: _static("/holds")),
    Endpoint("verify", "GET", False, lambda c, w: _static("/ledger/verify")),
]


def endpoint(name: str, method: str, *, write: bool, ok: int = 200):  # noqa: ANN201
    def register(target: Callable[[Ctx, World], Awaitable[tuple[str, Any]]]) -> Callable:
        ENDPOINTS.append(Endpoint(name, method, write, target, ok))
        return target

    return register


@endpoint("get-transfer", "GET", write=False)
async def _(c: Ctx, w: World) -> tuple[str, Any]:
    return f"/transfers/{(await c.earn(w))['id']}", None


@endpoint("get-hold", "GET", write=False)
async def _(c: Ctx, w: World) -> tuple[str, Any]:
    return f"/holds/{(await c.hold(w))['id']}", None


@endpoint("create-account", "POST", write=True, ok=201)
async def _(c: Ctx, w: World) -> tuple[str, Any]:
    return "/accounts", {"type": "campaign_budget", "name": "Kerstactie"}


@endpoint("set-credit-limit", "PUT", write=True)
async def _(c: Ctx, w: World) -> tuple[str, Any]:
    return f"/accounts/{w.shop_float.id}/credit-limit", {"credit_limit": 250}


@endpoint("create-transfer", "POST", write=True, ok=201)
async def _(c: Ctx, w: World) -> tuple[str, Any]:
    return "/transfers", {"kind": "earn", "debit_account_id": w.bakery_float.id, "credit_account_id": w.bert_wallet.id, "amount": 12}


@endpoint("reverse-transfer", "POST", write=True, ok=201)
async def _(c: Ctx, w: World) -> tuple[str, Any]:
    return f"/transfers/{(await c.earn(w))['id']}/reversals", {"amount": 5}


@endpoint("create-hold", "POST", write=True, ok=201)
async def _(c: Ctx, w: World) -> tuple[str, Any]:
    await c.earn(w, 20)
    return "/holds", {"debit_account_id": w.an_wallet.id, "credit_account_id": w.bakery_redeemed.id, "amount": 20}


@endpoint("capture-hold", "POST", write=True, ok=201)
async def _(c: Ctx, w: World) -> tuple[str, Any]:
    return f"/holds/{(await c.hold(w))['id']}/capture", {"amount": 10}


@endpoint("void-hold", "POST", write=True)
async def _(c: Ctx, w: World) -> tuple[str, Any]:
    return f"/holds/{(await c.hold(w))['id']}/void", None


@endpoint("update-tenant", "PATCH", write=True)
async def _(c: Ctx, w: World) -> tuple[str, Any]:
    return "/tenant", {"hold_timeout_seconds": 240}


async def call(client: httpx.AsyncClient, method: str, path: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    headers = {**headers, "Idempotency-Key": new_key()}
    if method == "GET":
        return await client.get(f"{API}{path}", headers=headers)
    return await client.request(method, f"{API}{path}", json=body, headers=headers)


@pytest.mark.parametrize("ep", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
async def test_role_matrix(client, sessionmaker, town, pos_key, ep):
    c = Ctx(client, sessionmaker)
    path, body = await ep.target(c, town)
    allowed = WRITERS if ep.write else READERS
    problems = []
    # The allowed callers go last, so every refused attempt meets an untouched target.
    order = sorted(callers(town, pos_key).items(), key=lambda item: item[0] in allowed)
    for name, headers in order:
        before = await snapshot(sessionmaker, town.tenant.id)
        response = await call(client, ep.method, path, body, headers)
        if name in allowed:
            expected = ep.ok
        elif name in UNAUTHENTICATED:
            expected = 401
        else:
            expected = 403
        if response.status_code != expected:
            problems.append(f"{name}: {response.status_code} (expected {expected}) {response.text[:200]}")
            continue
        if expected >= 400:
            assert_problem(response, expected)
            if expected == 401:
                assert response.headers.get("www-authenticate") == "Bearer"
            if expected == 403:
                assert response.json()["code"] == "forbidden", response.text
            if await snapshot(sessionmaker, town.tenant.id) != before:
                problems.append(f"{name}: a refused request changed the ledger")
        if name == "auditor" and ep.write:
            assert response.status_code == 403
    assert not problems, "\n".join(problems)
    await check_ledger(sessionmaker, town.tenant.id)


async def test_any_signed_in_role_reads_its_own_tenant(client, town, pos_key):
    for name, headers in callers(town, pos_key).items():
        response = await client.get(f"{API}/tenant", headers=headers)
        if name in UNAUTHENTICATED:
            assert_problem(response, 401)
        else:
            assert response.status_code == 200, (name, response.text)
            assert response.json()["id"] == town.tenant.id


# --------------------------------------------------------------------------- cross-tenant


@dataclass
class Foreign:
    name: str
    method: str
    code: str
    target: Callable[[Ctx, World, World], Awaitable[tuple[str, Any]]]


FOREIGN: list[Foreign] = []


def foreign(name: str, method: str, code: str):  # noqa: ANN201
    def register(target: Callable) -> Callable:
        FOREIGN.append(Foreign(name, method, code, target))
        return target

    return register


for _suffix in ("", "/balance", "/entries"):

    async def _account(c: Ctx, a: World, b: World, suffix: str = _suffix) -> tuple[str, Any]:
        return f"/accounts/{a.an_wallet.id}{suffix}", None

    foreign(f"get-account{_suffix.replace('/', '-')}", "GET", "account_not_found")(_account)


@foreign("get-transfer", "GET", "transfer_not_found")
async def _(c: Ctx, a: World, b: World) -> tuple[str, Any]:
    return f"/transfers/{(await c.earn(a))['id']}", None


@foreign("get-hold", "GET", "hold_not_found")
async def _(c: Ctx, a: World, b: World) -> tuple[str, Any]:
    return f"/holds/{(await c.hold(a))['id']}", None


@foreign("set-credit-limit", "PUT", "account_not_found")
async def _(c: Ctx, a: World, b: World) -> tuple[str, Any]:
    return f"/accounts/{a.shop_float.id}/credit-limit", {"credit_limit": 1000}


@foreign("transfer-out-of-their-float", "POST", "account_not_found")
async def _(c: Ctx, a: World, b: World) -> tuple[str, Any]:
    return "/transfers", {"kind": "earn", "debit_account_id": a.bakery_float.id, "credit_account_id": b.an_wallet.id, "amount": 10}


@foreign("transfer-into-their-wallet", "POST", "account_not_found")
async def _(c: Ctx, a: World, b: World) -> tuple[str, Any]:
    return "/transfers", {"kind": "earn", "debit_account_id": b.bakery_float.id, "credit_account_id": a.an_wallet.id, "amount": 10}


@foreign("transfer-between-their-accounts", "POST", "account_not_found")
async def _(c: Ctx, a: World, b: World) -> tuple[str, Any]:
    return "/transfers", {"kind": "earn", "debit_account_id": a.bakery_float.id, "credit_account_id": a.an_wallet.id, "amount": 10}


@foreign("reverse-their-transfer", "POST", "transfer_not_found")
async def _(c: Ctx, a: World, b: World) -> tuple[str, Any]:
    return f"/transfers/{(await c.earn(a))['id']}/reversals", {}


@foreign("hold-on-their-wallet", "POST", "account_not_found")
async def _(c: Ctx, a: World, b: World) -> tuple[str, Any]:
    await c.earn(a)
    return "/holds", {"debit_account_id": a.an_wallet.id, "credit_account_id": b.bakery_redeemed.id, "amount": 10}


@foreign("capture-their-hold", "POST", "hold_not_found")
async def _(c: Ctx, a: World, b: World) -> tuple[str, Any]:
    return f"/holds/{(await c.hold(a))['id']}/capture", {}


@foreign("void-their-hold", "POST", "hold_not_found")
async def _(c: Ctx, a: World, b: World) -> tuple[str, Any]:
    return f"/holds/{(await c.hold(a))['id']}/void", None


@foreign("open-account-for-their-merchant", "POST", "account_not_found")
async def _(c: Ctx, a: World, b: World) -> tuple[str, Any]:
    return "/accounts", {"type": "merchant_float", "name": "Sneaky", "merchant_id": a.bakery.id}


@pytest.mark.parametrize("case", FOREIGN, ids=[f.name for f in FOREIGN])
@pytest.mark.parametrize("who", ["admin", "auditor"])
async def test_another_towns_staff_get_404_and_change_nothing(client, sessionmaker, town, other_town, case, who):
    c = Ctx(client, sessionmaker)
    path, body = await case.target(c, town, other_town)
    before = (await snapshot(sessionmaker, town.tenant.id), await snapshot(sessionmaker, other_town.tenant.id))
    response = await call(client, case.method, path, body, other_town.headers(who))
    if case.method != "GET" and who == "auditor":
        assert_problem(response, 403, "forbidden")  # the role check comes first for writes
    else:
        assert_problem(response, 404, case.code)
    after = (await snapshot(sessionmaker, town.tenant.id), await snapshot(sessionmaker, other_town.tenant.id))
    assert after == before


async def test_another_towns_lists_never_show_this_towns_rows(client, town, other_town):
    ctx = Ctx(client, None)
    transfer = await ctx.earn(town)
    hold = await ctx.hold(town)
    for path in [
        "/accounts",
        f"/transfers?account_id={town.an_wallet.id}",
        f"/holds?account_id={town.an_wallet.id}",
        "/transfers?limit=200",
        "/holds?limit=200",
        "/accounts?limit=200",
    ]:
        response = await client.get(f"{API}{path}", headers=other_town.headers("auditor"))
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        ids = {item["id"] for item in items}
        if path.startswith("/transfers"):
            assert transfer["id"] not in ids
        if path.startswith("/holds"):
            assert hold["id"] not in ids
        if path.startswith("/accounts"):
            assert not ids & {town.an_wallet.id, town.bakery_float.id, town.funding.id}
        if "account_id" in path:
            assert items == []
    verify = await client.get(f"{API}/ledger/verify", headers=other_town.headers("auditor"))
    assert verify.status_code == 200 and verify.json()["ok"], verify.text
