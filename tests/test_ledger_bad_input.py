"""Bad input on every ledger endpoint: a stable problem+json 4xx, never a 500, nothing written.

Each case builds what it needs (a funded wallet, a voided hold, a reversed transfer...),
then a snapshot of everything both municipalities own is taken, the bad request sent,
and the snapshot compared. The app runs with ``raise_app_exceptions=False`` so an
unhandled error shows up as the 500 a client would get rather than as a test crash.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from backend.core.db import transaction
from backend.core.types import utcnow
from backend.ledger import service as ledger
from tests.fixtures.factories import World, make_world, new_key
from tests.fixtures.ledger import API, assert_problem, check_ledger, snapshot

BIG = 2**63  # one past the largest 64-bit id


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def http(app) -> AsyncIterator[httpx.AsyncClient]:  # noqa: ANN001
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def town(sessionmaker, client) -> World:  # noqa: ANN001
    """One municipality shared by the module: every case sets up its own objects in it."""
    return await make_world(sessionmaker, client, float_points=1_000_000)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def other_town(sessionmaker, client) -> World:  # noqa: ANN001
    return await make_world(sessionmaker, client)


@dataclass
class Ctx:
    http: httpx.AsyncClient
    w: World
    other: World
    sessionmaker: Any

    def key(self) -> dict[str, str]:
        return self.w.headers(**{"Idempotency-Key": new_key()})

    async def post(self, path: str, body: dict | None = None, *, expect: int = 201) -> dict:
        response = await self.http.post(f"{API}{path}", json=body, headers=self.key())
        assert response.status_code == expect, response.text
        return response.json()

    async def earn(self, amount: int, wallet: int | None = None) -> dict:
        return await self.post(
            "/transfers",
            {"kind": "earn", "debit_account_id": self.w.bakery_float.id, "credit_account_id": wallet or self.w.an_wallet.id, "amount": amount},
        )

    async def hold(self, amount: int = 10) -> dict:
        await self.earn(amount)
        return await self.post(
            "/holds",
            {"debit_account_id": self.w.an_wallet.id, "credit_account_id": self.w.bakery_redeemed.id, "amount": amount},
        )

    async def expired_hold(self) -> int:
        await self.earn(15)
        async with transaction(self.sessionmaker) as session:
            hold, _ = await ledger.create_hold(
                session,
                tenant_id=self.w.tenant.id,
                idempotency_key=new_key(),
                kind="redeem",
                debit_account_id=self.w.an_wallet.id,
                credit_account_id=self.w.bakery_redeemed.id,
                amount=15,
                timeout_seconds=60,
                now=utcnow() - timedelta(minutes=5),
            )
        return hold.id

    async def foreign_transfer(self) -> int:
        async with transaction(self.sessionmaker) as session:
            posted = await ledger.post_transfer(
                session,
                tenant_id=self.other.tenant.id,
                idempotency_key=new_key(),
                kind="earn",
                debit_account_id=self.other.bakery_float.id,
                credit_account_id=self.other.an_wallet.id,
                amount=5,
            )
        return posted.id

    async def foreign_hold(self) -> int:
        await self.foreign_transfer()
        async with transaction(self.sessionmaker) as session:
            hold, _ = await ledger.create_hold(
                session,
                tenant_id=self.other.tenant.id,
                idempotency_key=new_key(),
                kind="redeem",
                debit_account_id=self.other.an_wallet.id,
                credit_account_id=self.other.bakery_redeemed.id,
                amount=5,
                timeout_seconds=600,
            )
        return hold.id


@dataclass
class Req:
    method: str
    path: str
    json: Any = None
    headers: dict[str, str] | None = None  # default: admin with a fresh Idempotency-Key
    content: bytes | None = None


Build = Callable[[Ctx], Awaitable[Req]]
CASES: list[Any] = []


def case(name: str, status: int, code: str) -> Callable[[Build], Build]:
    def register(build: Build) -> Build:
        CASES.append(pytest.param(build, status, code, id=name))
        return build

    return register


def earn_body(c: Ctx, **changes: Any) -> dict:
    body = {"kind": "earn", "debit_account_id": c.w.bakery_float.id, "credit_account_id": c.w.an_wallet.id, "amount": 10}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def hold_body(c: Ctx, **changes: Any) -> dict:
    body = {"debit_account_id": c.w.an_wallet.id, "credit_account_id": c.w.bakery_redeemed.id, "amount": 10}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def cursor_of(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


# --------------------------------------------------------------------------- POST /transfers

for label, value in [("zero", 0), ("negative", -5), ("fraction", 1.5), ("string", "10"), ("absurd", 10**13), ("bool", True), ("null", None)]:

    def _amount(c: Ctx, value: Any = value) -> Awaitable[Req]:
        async def build() -> Req:
            return Req("POST", "/transfers", earn_body(c, amount=value))

        return build()

    case(f"transfer-amount-{label}", 422, "validation_error")(_amount)

    def _hold_amount(c: Ctx, value: Any = value) -> Awaitable[Req]:
        async def build() -> Req:
            await c.earn(50)
            return Req("POST", "/holds", hold_body(c, amount=value))

        return build()

    case(f"hold-amount-{label}", 422, "validation_error")(_hold_amount)

    def _reversal_amount(c: Ctx, value: Any = value) -> Awaitable[Req]:
        async def build() -> Req:
            transfer = await c.earn(50)
            return Req("POST", f"/transfers/{transfer['id']}/reversals", {"amount": value})

        return build()

    if value is not None:  # amount: null means "the whole transfer"
        case(f"reversal-amount-{label}", 422, "validation_error")(_reversal_amount)

    def _capture_amount(c: Ctx, value: Any = value) -> Awaitable[Req]:
        async def build() -> Req:
            hold = await c.hold(20)
            return Req("POST", f"/holds/{hold['id']}/capture", {"amount": value})

        return build()

    if value is not None:
        case(f"capture-amount-{label}", 422, "validation_error")(_capture_amount)


@case("transfer-missing-amount", 422, "validation_error")
async def _(c: Ctx) -> Req:
    return Req("POST", "/transfers", earn_body(c, amount=...))


@case("transfer-missing-kind", 422, "validation_error")
async def _(c: Ctx) -> Req:
    return Req("POST", "/transfers", earn_body(c, kind=...))


@case("transfer-missing-debit", 422, "validation_error")
async def _(c: Ctx) -> Req:
    return Req("POST", "/transfers", earn_body(c, debit_account_id=...))


@case("transfer-unknown-field", 422, "validation_error")
async def _(c: Ctx) -> Req:
    return Req("POST", "/transfers", earn_body(c, currency="EUR"))


@case("transfer-account-id-as-string", 422, "validation_error")
async def _(c: Ctx) -> Req:
    return Req("POST", "/transfers", earn_body(c, debit_account_id=str(c.w.bakery_float.id)))


@case("transfer-body-not-json", 422, "validation_error")
async def _(c: Ctx) -> Req:
    return Req("POST", "/transfers", content=b"{not json", headers=c.w.headers(**{"Idempotency-Key": new_key(), "Content-Type": "application/json"}))


@case("transfer-body-a-list", 422, "validation_error")
async def _(c: Ctx) -> Req:
    return Req("POST", "/transfers", [earn_body(c)])


@case("transfer-description-too-long", 422, "validation_error")
async def _(c: Ctx) -> Req:
    return Req("POST", "/transfers", earn_body(c, description="x" * 501))


@case("transfer-too-much-meta", 422, "validation_error")
async def _(c: Ctx) -> Req:
    return Req("POST", "/transfers", earn_body(c, meta={f"k{i}": i for i in range(21)}))


@case("transfer-kind-too-long", 422, "validation_error")
async def _(c: Ctx) -> Req:
    return Req("POST", "/transfers", earn_body(c, kind="e" * 33))


@case("transfer-unknown-kind", 422, "flow_not_allowed")
async def _(c: Ctx) -> Req:
    return Req("POST", "/transfers", earn_body(c, kind="steal"))


@case("transfer-kind-reversal", 422, "flow_not_allowed")
async def _(c: Ctx) -> Req:
    return Req("POST", "/transfers", earn_body(c, kind="reversal"))


@case("transfer-wrong-kind-for-accounts", 422, "flow_not_allowed")
async def _(c: Ctx) -> Req:
    return Req("POST", "/transfers", earn_body(c, kind="topup"))


@case("transfer-earn-from-a-wallet", 422, "flow_not_allowed")
async def _(c: Ctx) -> Req:
    await c.earn(50)
    return Req("POST", "/transfers", earn_body(c, debit_account_id=c.w.an_wallet.id, credit_account_id=c.w.bert_wallet.id))


@case("transfer-same-account-both-sides", 422, "flow_not_allowed")
async def _(c: Ctx) -> Req:
    return Req("POST", "/transfers", earn_body(c, credit_account_id=c.w.bakery_float.id))


@case("transfer-wallet-merge-into-itself", 422, "flow_not_allowed")
async def _(c: Ctx) -> Req:
    await c.earn(50)
    return Req(
        "POST", "/transfers", earn_body(c, kind="wallet_merge", debit_account_id=c.w.an_wallet.id, credit_account_id=c.w.an_wallet.id)
    )


@case("transfer-unknown-account", 404, "account_not_found")
async def _(c: Ctx) -> Req:
    return Req("POST", "/transfers", earn_body(c, credit_account_id=987_654_321))


@case("transfer-other-towns-account", 404, "account_not_found")
async def _(c: Ctx) -> Req:
    return Req("POST", "/transfers", earn_body(c, credit_account_id=c.other.an_wallet.id))


@case("transfer-from-other-towns-float", 404, "account_not_found")
async def _(c: Ctx) -> Req:
    return Req("POST", "/transfers", earn_body(c, debit_account_id=c.other.bakery_float.id))


@case("transfer-insufficient-funds", 409, "insufficient_funds")
async def _(c: Ctx) -> Req:
    body = {"kind": "redeem", "debit_account_id": c.w.bert_wallet.id, "credit_account_id": c.w.bakery_redeemed.id, "amount": 10**9}
    return Req("POST", "/transfers", body)


@case("transfer-float-below-zero", 409, "insufficient_funds")
async def _(c: Ctx) -> Req:
    return Req("POST", "/transfers", earn_body(c, debit_account_id=c.w.shop_float.id, amount=1))


@case("transfer-key-missing", 400, "idempotency_key_missing")
async def _(c: Ctx) -> Req:
    return Req("POST", "/transfers", earn_body(c), headers=c.w.headers())


@case("transfer-key-empty", 400, "idempotency_key_missing")
async def _(c: Ctx) -> Req:
    return Req("POST", "/transfers", earn_body(c), headers=c.w.headers(**{"Idempotency-Key": ""}))


for label, bad_key in [("short", "abc"), ("spaces", "has spaces in it"), ("too-long", "k" * 121), ("slash", "a/b/c/d/e/f")]:

    def _bad_key(c: Ctx, bad_key: str = bad_key) -> Awaitable[Req]:
        async def build() -> Req:
            return Req("POST", "/transfers", earn_body(c), headers=c.w.headers(**{"Idempotency-Key": bad_key}))

        return build()

    case(f"transfer-key-{label}", 400, "idempotency_key_invalid")(_bad_key)


@case("transfer-key-reused-for-another-request", 409, "idempotency_key_reused")
async def _(c: Ctx) -> Req:
    key = new_key()
    response = await c.http.post(f"{API}/transfers", json=earn_body(c), headers=c.w.headers(**{"Idempotency-Key": key}))
    assert response.status_code == 201
    return Req("POST", "/transfers", earn_body(c, amount=11), headers=c.w.headers(**{"Idempotency-Key": key}))


# --------------------------------------------------------------------------- GET lists: cursors, limits, filters

for path in ["/transfers", "/holds", "/accounts", "ENTRIES"]:
    for label, query, status, code in [
        ("cursor-garbage", "cursor=!!!not-base64!!!", 400, "invalid_cursor"),
        ("cursor-wrong-prefix", f"cursor={cursor_of('xx:5')}", 400, "invalid_cursor"),
        ("cursor-negative", f"cursor={cursor_of('id:-1')}", 400, "invalid_cursor"),
        ("cursor-zero", f"cursor={cursor_of('id:0')}", 400, "invalid_cursor"),
        ("cursor-not-a-number", f"cursor={cursor_of('id:abc')}", 400, "invalid_cursor"),
        ("cursor-not-utf8", f"cursor={base64.urlsafe_b64encode(bytes([255, 254, 58])).decode()}", 400, "invalid_cursor"),
        ("cursor-too-long", "cursor=" + "a" * 201, 422, "validation_error"),
        ("limit-zero", "limit=0", 422, "validation_error"),
        ("limit-too-big", "limit=201", 422, "validation_error"),
        ("limit-not-a-number", "limit=ten", 422, "validation_error"),
    ]:

        def _list(c: Ctx, path: str = path, query: str = query) -> Awaitable[Req]:
            async def build() -> Req:
                real = f"/accounts/{c.w.an_wallet.id}/entries" if path == "ENTRIES" else path
                return Req("GET", f"{real}?{query}")

            return build()

        name = "entries" if path == "ENTRIES" else path.strip("/")
        case(f"list-{name}-{label}", status, code)(_list)


for label, path in [
    ("transfers-account-id-not-a-number", "/transfers?account_id=abc"),
    ("transfers-kind-too-long", "/transfers?kind=" + "k" * 33),
    ("holds-unknown-status", "/holds?status=bogus"),
    ("holds-account-id-not-a-number", "/holds?account_id=x"),
    ("accounts-unknown-type", "/accounts?type=bank"),
    ("accounts-merchant-id-not-a-number", "/accounts?merchant_id=x"),
]:

    def _filter(c: Ctx, path: str = path) -> Awaitable[Req]:
        async def build() -> Req:
            return Req("GET", path)

        return build()

    case(f"list-{label}", 422, "validation_error")(_filter)


# --------------------------------------------------------------------------- single objects: ids


@case("get-transfer-unknown", 404, "transfer_not_found")
async def _(c: Ctx) -> Req:
    return Req("GET", "/transfers/987654321")


@case("get-transfer-other-town", 404, "transfer_not_found")
async def _(c: Ctx) -> Req:
    return Req("GET", f"/transfers/{await c.foreign_transfer()}")


@case("get-transfer-id-not-a-number", 422, "validation_error")
async def _(c: Ctx) -> Req:
    return Req("GET", "/transfers/abc")


@case("get-hold-unknown", 404, "hold_not_found")
async def _(c: Ctx) -> Req:
    return Req("GET", "/holds/987654321")


@case("get-hold-other-town", 404, "hold_not_found")
async def _(c: Ctx) -> Req:
    return Req("GET", f"/holds/{await c.foreign_hold()}")


@case("get-hold-id-not-a-number", 422, "validation_error")
async def _(c: Ctx) -> Req:
    return Req("GET", "/holds/1.5")


for suffix in ["", "/balance", "/entries"]:

    def _unknown(c: Ctx, suffix: str = suffix) -> Awaitable[Req]:
        async def build() -> Req:
            return Req("GET", f"/accounts/987654321{suffix}")

        return build()

    def _foreign(c: Ctx, suffix: str = suffix) -> Awaitable[Req]:
        async def build() -> Req:
            return Req("GET", f"/accounts/{c.other.an_wallet.id}{suffix}")

        return build()

    def _nan(c: Ctx, suffix: str = suffix) -> Awaitable[Req]:
        async def build() -> Req:
            return Req("GET", f"/accounts/wallet{suffix}")

        return build()

    case(f"account{suffix.replace('/', '-')}-unknown", 404, "account_not_found")(_unknown)
    case(f"account{suffix.replace('/', '-')}-other-town", 404, "account_not_found")(_foreign)
    case(f"account{suffix.replace('/', '-')}-id-not-a-number", 422, "validation_error")(_nan)


# --------------------------------------------------------------------------- reversals


@case("reversal-beyond-amount", 422, "reversal_exceeds_amount")
async def _(c: Ctx) -> Req:
    transfer = await c.earn(40)
    return Req("POST", f"/transfers/{transfer['id']}/reversals", {"amount": 41})


@case("reversal-second-one", 409, "already_reversed")
async def _(c: Ctx) -> Req:
    transfer = await c.earn(40)
    await c.post(f"/transfers/{transfer['id']}/reversals", {"amount": 10})
    return Req("POST", f"/transfers/{transfer['id']}/reversals", {"amount": 10})


@case("reversal-of-a-reversal", 409, "cannot_reverse")
async def _(c: Ctx) -> Req:
    transfer = await c.earn(40)
    reversal = await c.post(f"/transfers/{transfer['id']}/reversals", {})
    return Req("POST", f"/transfers/{reversal['id']}/reversals", {})


@case("reversal-points-already-spent", 409, "insufficient_funds")
async def _(c: Ctx) -> Req:
    transfer = await c.earn(40, wallet=c.w.bert_wallet.id)
    balance = (await c.http.get(f"{API}/accounts/{c.w.bert_wallet.id}/balance", headers=c.w.headers())).json()
    await c.post("/transfers", {"kind": "redeem", "debit_account_id": c.w.bert_wallet.id, "credit_account_id": c.w.shop_redeemed.id, "amount": balance["available"]})
    return Req("POST", f"/transfers/{transfer['id']}/reversals", {})


@case("reversal-unknown-transfer", 404, "transfer_not_found")
async def _(c: Ctx) -> Req:
    return Req("POST", "/transfers/987654321/reversals", {})


@case("reversal-other-towns-transfer", 404, "transfer_not_found")
async def _(c: Ctx) -> Req:
    return Req("POST", f"/transfers/{await c.foreign_transfer()}/reversals", {})


@case("reversal-unknown-field", 422, "validation_error")
async def _(c: Ctx) -> Req:
    transfer = await c.earn(40)
    return Req("POST", f"/transfers/{transfer['id']}/reversals", {"amount": 5, "reason": "oops"})


@case("reversal-key-missing", 400, "idempotency_key_missing")
async def _(c: Ctx) -> Req:
    transfer = await c.earn(40)
    return Req("POST", f"/transfers/{transfer['id']}/reversals", {}, headers=c.w.headers())


@case("reversal-key-invalid", 400, "idempotency_key_invalid")
async def _(c: Ctx) -> Req:
    transfer = await c.earn(40)
    return Req("POST", f"/transfers/{transfer['id']}/reversals", {}, headers=c.w.headers(**{"Idempotency-Key": "bad key!"}))


@case("reversal-key-reused-for-another-amount", 409, "idempotency_key_reused")
async def _(c: Ctx) -> Req:
    transfer = await c.earn(40)
    key = new_key()
    response = await c.http.post(
        f"{API}/transfers/{transfer['id']}/reversals", json={"amount": 5}, headers=c.w.headers(**{"Idempotency-Key": key})
    )
    assert response.status_code == 201, response.text
    return Req("POST", f"/transfers/{transfer['id']}/reversals", {"amount": 6}, headers=c.w.headers(**{"Idempotency-Key": key}))


# --------------------------------------------------------------------------- holds


@case("hold-missing-debit", 422, "validation_error")
async def _(c: Ctx) -> Req:
    return Req("POST", "/holds", hold_body(c, debit_account_id=...))


@case("hold-unknown-field", 422, "validation_error")
async def _(c: Ctx) -> Req:
    return Req("POST", "/holds", hold_body(c, pin="1234"))


for label, value in [("zero", 0), ("too-long", 86_401), ("string", "60"), ("fraction", 2.5)]:

    def _timeout(c: Ctx, value: Any = value) -> Awaitable[Req]:
        async def build() -> Req:
            await c.earn(50)
            return Req("POST", "/holds", hold_body(c, timeout_seconds=value))

        return build()

    case(f"hold-timeout-{label}", 422, "validation_error")(_timeout)


@case("hold-kind-not-holdable", 422, "flow_not_allowed")
async def _(c: Ctx) -> Req:
    return Req("POST", "/holds", hold_body(c, kind="earn", debit_account_id=c.w.bakery_float.id, credit_account_id=c.w.an_wallet.id))


@case("hold-wrong-accounts-for-redeem", 422, "flow_not_allowed")
async def _(c: Ctx) -> Req:
    return Req("POST", "/holds", hold_body(c, debit_account_id=c.w.bakery_float.id))


@case("hold-same-account-both-sides", 422, "flow_not_allowed")
async def _(c: Ctx) -> Req:
    await c.earn(50)
    return Req("POST", "/holds", hold_body(c, credit_account_id=c.w.an_wallet.id))


@case("hold-unknown-account", 404, "account_not_found")
async def _(c: Ctx) -> Req:
    return Req("POST", "/holds", hold_body(c, credit_account_id=987_654_321))


@case("hold-other-towns-wallet", 404, "account_not_found")
async def _(c: Ctx) -> Req:
    return Req("POST", "/holds", hold_body(c, debit_account_id=c.other.an_wallet.id))


@case("hold-insufficient-funds", 409, "insufficient_funds")
async def _(c: Ctx) -> Req:
    return Req("POST", "/holds", hold_body(c, debit_account_id=c.w.bert_wallet.id, amount=10**9))


@case("hold-key-missing", 400, "idempotency_key_missing")
async def _(c: Ctx) -> Req:
    return Req("POST", "/holds", hold_body(c), headers=c.w.headers())


@case("hold-key-invalid", 400, "idempotency_key_invalid")
async def _(c: Ctx) -> Req:
    return Req("POST", "/holds", hold_body(c), headers=c.w.headers(**{"Idempotency-Key": "*" * 12}))


@case("capture-more-than-held", 422, "capture_exceeds_hold")
async def _(c: Ctx) -> Req:
    hold = await c.hold(20)
    return Req("POST", f"/holds/{hold['id']}/capture", {"amount": 21})


@case("capture-after-void", 409, "hold_already_resolved")
async def _(c: Ctx) -> Req:
    hold = await c.hold(20)
    await c.post(f"/holds/{hold['id']}/void", expect=200)
    return Req("POST", f"/holds/{hold['id']}/capture", {})


@case("capture-twice-with-new-key", 409, "hold_already_resolved")
async def _(c: Ctx) -> Req:
    hold = await c.hold(20)
    await c.post(f"/holds/{hold['id']}/capture", {"amount": 5})
    return Req("POST", f"/holds/{hold['id']}/capture", {"amount": 5})


@case("capture-expired-hold", 409, "hold_expired")
async def _(c: Ctx) -> Req:
    return Req("POST", f"/holds/{await c.expired_hold()}/capture", {})


@case("capture-unknown-hold", 404, "hold_not_found")
async def _(c: Ctx) -> Req:
    return Req("POST", "/holds/987654321/capture", {})


@case("capture-other-towns-hold", 404, "hold_not_found")
async def _(c: Ctx) -> Req:
    return Req("POST", f"/holds/{await c.foreign_hold()}/capture", {})


@case("capture-unknown-field", 422, "validation_error")
async def _(c: Ctx) -> Req:
    hold = await c.hold(20)
    return Req("POST", f"/holds/{hold['id']}/capture", {"amount": 5, "tip": 1})


@case("capture-key-missing", 400, "idempotency_key_missing")
async def _(c: Ctx) -> Req:
    hold = await c.hold(20)
    return Req("POST", f"/holds/{hold['id']}/capture", {}, headers=c.w.headers())


@case("capture-key-invalid", 400, "idempotency_key_invalid")
async def _(c: Ctx) -> Req:
    hold = await c.hold(20)
    return Req("POST", f"/holds/{hold['id']}/capture", {}, headers=c.w.headers(**{"Idempotency-Key": "x"}))


@case("capture-key-of-another-capture", 409, "idempotency_key_reused")
async def _(c: Ctx) -> Req:
    first, second = await c.hold(20), await c.hold(20)
    key = new_key()
    response = await c.http.post(f"{API}/holds/{first['id']}/capture", json={}, headers=c.w.headers(**{"Idempotency-Key": key}))
    assert response.status_code == 201, response.text
    return Req("POST", f"/holds/{second['id']}/capture", {}, headers=c.w.headers(**{"Idempotency-Key": key}))


@case("void-after-capture", 409, "hold_already_resolved")
async def _(c: Ctx) -> Req:
    hold = await c.hold(20)
    await c.post(f"/holds/{hold['id']}/capture", {})
    return Req("POST", f"/holds/{hold['id']}/void")


@case("void-unknown-hold", 404, "hold_not_found")
async def _(c: Ctx) -> Req:
    return Req("POST", "/holds/987654321/void")


@case("void-other-towns-hold", 404, "hold_not_found")
async def _(c: Ctx) -> Req:
    return Req("POST", f"/holds/{await c.foreign_hold()}/void")


@case("void-id-not-a-number", 422, "validation_error")
async def _(c: Ctx) -> Req:
    return Req("POST", "/holds/first/void")


# --------------------------------------------------------------------------- accounts


def account_body(**changes: Any) -> dict:
    body = {"type": "campaign_budget", "name": "Zomercampagne"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


for label, changes in [
    ("unknown-type", {"type": "bank"}),
    ("missing-type", {"type": ...}),
    ("missing-name", {"name": ...}),
    ("empty-name", {"name": ""}),
    ("code-with-capitals", {"code": "Campaign:X"}),
    ("code-with-space", {"code": "campaign x"}),
    ("shard-count-zero", {"shard_count": 0}),
    ("shard-count-65", {"shard_count": 65}),
    ("credit-limit-negative", {"credit_limit": -1}),
    ("credit-limit-fraction", {"credit_limit": 1.5}),
    ("credit-limit-string", {"credit_limit": "100"}),
    ("credit-limit-absurd", {"credit_limit": 10**13}),
    ("merchant-id-string", {"merchant_id": "1"}),
    ("unknown-field", {"balance": 1000}),
]:

    def _account(c: Ctx, changes: dict = changes) -> Awaitable[Req]:
        async def build() -> Req:
            return Req("POST", "/accounts", account_body(**changes))

        return build()

    case(f"create-account-{label}", 422, "validation_error")(_account)


@case("create-account-code-taken", 409, "account_exists")
async def _(c: Ctx) -> Req:
    return Req("POST", "/accounts", account_body(type="funding", code="funding"))


@case("create-account-other-towns-merchant", 404, "account_not_found")
async def _(c: Ctx) -> Req:
    return Req("POST", "/accounts", account_body(type="merchant_float", merchant_id=c.other.bakery.id))


@case("create-account-unknown-merchant", 404, "account_not_found")
async def _(c: Ctx) -> Req:
    return Req("POST", "/accounts", account_body(type="merchant_float", merchant_id=987_654_321))


@case("create-account-other-towns-shopper", 404, "account_not_found")
async def _(c: Ctx) -> Req:
    return Req("POST", "/accounts", account_body(type="shopper_wallet", shopper_id=c.other.an.id))


for label, body in [
    ("negative", {"credit_limit": -1}),
    ("fraction", {"credit_limit": 2.5}),
    ("string", {"credit_limit": "500"}),
    ("absurd", {"credit_limit": 10**13}),
    ("missing", {}),
    ("unknown-field", {"credit_limit": 5, "currency": "EUR"}),
]:

    def _limit(c: Ctx, body: dict = body) -> Awaitable[Req]:
        async def build() -> Req:
            return Req("PUT", f"/accounts/{c.w.shop_float.id}/credit-limit", body)

        return build()

    case(f"credit-limit-{label}", 422, "validation_error")(_limit)


@case("credit-limit-on-a-wallet", 422, "flow_not_allowed")
async def _(c: Ctx) -> Req:
    return Req("PUT", f"/accounts/{c.w.an_wallet.id}/credit-limit", {"credit_limit": 100})


@case("credit-limit-unknown-account", 404, "account_not_found")
async def _(c: Ctx) -> Req:
    return Req("PUT", "/accounts/987654321/credit-limit", {"credit_limit": 100})


@case("credit-limit-other-towns-float", 404, "account_not_found")
async def _(c: Ctx) -> Req:
    return Req("PUT", f"/accounts/{c.other.bakery_float.id}/credit-limit", {"credit_limit": 100})


@case("credit-limit-below-what-is-owed", 409, "credit_limit_below_balance")
async def _(c: Ctx) -> Req:
    account = await c.post("/accounts", account_body(type="merchant_float", credit_limit=100))
    await c.post("/transfers", earn_body(c, debit_account_id=account["id"], amount=80))
    return Req("PUT", f"/accounts/{account['id']}/credit-limit", {"credit_limit": 79})


# --------------------------------------------------------------------------- tenant, verify, methods

for label, body in [
    ("unknown-field", {"slug": "elsewhere"}),
    ("hold-timeout-too-short", {"hold_timeout_seconds": 5}),
    ("hold-timeout-string", {"hold_timeout_seconds": "60"}),
    ("point-value-zero", {"point_value_cents": 0}),
    ("point-value-fraction", {"point_value_cents": 1.5}),
    ("unknown-locale", {"locale": "de-DE"}),
    ("name-too-short", {"name": "x"}),
    ("credit-limit-absurd", {"default_float_credit_limit": 10**13}),
]:

    def _tenant(c: Ctx, body: dict = body) -> Awaitable[Req]:
        async def build() -> Req:
            return Req("PATCH", "/tenant", body)

        return build()

    case(f"tenant-{label}", 422, "validation_error")(_tenant)


for label, method, path in [
    ("post-verify", "POST", "/ledger/verify"),
    ("delete-transfer", "DELETE", "/transfers/1"),
    ("put-hold", "PUT", "/holds/1"),
    ("delete-tenant", "DELETE", "/tenant"),
]:

    def _method(c: Ctx, method: str = method, path: str = path) -> Awaitable[Req]:
        async def build() -> Req:
            return Req(method, path)

        return build()

    case(f"method-{label}", 405, "method_not_allowed")(_method)


# --------------------------------------------------------------------------- the test


async def send(c: Ctx, req: Req) -> httpx.Response:
    headers = req.headers if req.headers is not None else c.key()
    kwargs: dict[str, Any] = {"headers": headers}
    if req.content is not None:
        kwargs["content"] = req.content
    elif req.json is not None or req.method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = req.json
    return await c.http.request(req.method, f"{API}{req.path}", **kwargs)


@pytest.fixture
def ctx(http, town, other_town, sessionmaker) -> Ctx:  # noqa: ANN001
    return Ctx(http=http, w=town, other=other_town, sessionmaker=sessionmaker)


@pytest.mark.parametrize(("build", "status", "code"), CASES)
async def test_bad_input_is_a_stable_problem_and_writes_nothing(ctx, build, status, code):
    req = await build(ctx)
    before = (await snapshot(ctx.sessionmaker, ctx.w.tenant.id), await snapshot(ctx.sessionmaker, ctx.other.tenant.id))
    response = await send(ctx, req)
    assert_problem(response, status, code)
    after = (await snapshot(ctx.sessionmaker, ctx.w.tenant.id), await snapshot(ctx.sessionmaker, ctx.other.tenant.id))
    assert after == before, "a refused request changed the ledger"


async def test_the_shared_towns_are_consistent_after_all_the_bad_input(ctx):
    await check_ledger(ctx.sessionmaker, ctx.w.tenant.id)
    await check_ledger(ctx.sessionmaker, ctx.other.tenant.id)


# --------------------------------------------------------------------------- ids beyond 64 bits

BIG_ID_REQUESTS = [
    ("get-transfer", "GET", f"/transfers/{BIG}", None),
    ("get-hold", "GET", f"/holds/{BIG}", None),
    ("get-account", "GET", f"/accounts/{BIG}", None),
    ("get-balance", "GET", f"/accounts/{BIG}/balance", None),
    ("list-entries", "GET", f"/accounts/{BIG}/entries", None),
    ("list-transfers-account-filter", "GET", f"/transfers?account_id={BIG}", None),
    ("list-transfers-cursor", "GET", f"/transfers?cursor={cursor_of(f'id:{BIG}')}", None),
    ("list-accounts-merchant-filter", "GET", f"/accounts?merchant_id={BIG}", None),
    ("reverse", "POST", f"/transfers/{BIG}/reversals", {}),
    ("capture", "POST", f"/holds/{BIG}/capture", {}),
    ("void", "POST", f"/holds/{BIG}/void", None),
    ("credit-limit", "PUT", f"/accounts/{BIG}/credit-limit", {"credit_limit": 1}),
    ("transfer-debit-account", "POST", "/transfers", "BIG-DEBIT"),
    ("hold-credit-account", "POST", "/holds", "BIG-CREDIT"),
    ("create-account-merchant", "POST", "/accounts", {"type": "merchant_float", "name": "x", "merchant_id": BIG}),
]


@pytest.mark.parametrize(("method", "path", "body"), [r[1:] for r in BIG_ID_REQUESTS], ids=[r[0] for r in BIG_ID_REQUESTS])
async def test_an_id_beyond_64_bits_is_a_4xx_not_a_500(ctx, method, path, body):
    """Ids are BIGINT: a larger number cannot name anything, so it is a 404 (or 422).

    Today it reaches the database driver, which refuses to bind it (asyncpg: "value out
    of int64 range"; sqlite3: OverflowError): an unhandled 500.
    """
    if body == "BIG-DEBIT":
        body = earn_body(ctx, debit_account_id=BIG)
    elif body == "BIG-CREDIT":
        body = hold_body(ctx, credit_account_id=BIG)
    before = await snapshot(ctx.sessionmaker, ctx.w.tenant.id)
    response = await send(ctx, Req(method, path, body))
    assert response.status_code in (400, 404, 422), response.text
    assert_problem(response, response.status_code)
    assert await snapshot(ctx.sessionmaker, ctx.w.tenant.id) == before
