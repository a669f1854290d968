"""Refused top-ups and webhooks write nothing: signatures, amounts, roles, idempotency, no Stripe."""
# ruff: noqa: F811  (pytest fixtures imported from tests/fixtures/payments.py are parameters here)

from __future__ import annotations

import json
import time

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.db import transaction
from backend.payments.gateway import StripeGateway
from backend.payments.models import StripeEvent, TopUp
from backend.tenants.models import Tenant
from tests.fixtures.factories import World, make_world
from tests.fixtures.ledger import assert_problem, snapshot
from tests.fixtures.payments import (  # noqa: F401  (fixtures)
    API,
    LocalstripeGateway,
    deliver,
    localstripe_url,
    signature,
    start_topup,
    stripe_gateway,
)


async def counts(sessionmaker: async_sessionmaker[AsyncSession], world: World) -> tuple[int, int]:
    async with sessionmaker() as session:
        topups = await session.scalar(select(func.count()).select_from(TopUp).where(TopUp.tenant_id == world.tenant.id))
        events = await session.scalar(select(func.count()).select_from(StripeEvent))
    return int(topups or 0), int(events or 0)


async def test_bad_signatures_are_rejected_and_nothing_is_written(
    client: httpx.AsyncClient, world: World, stripe_gateway: LocalstripeGateway,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    body = (await start_topup(client, world, 1000)).json()
    await stripe_gateway.pay(body["checkout_session_id"])
    payload = stripe_gateway.checkout_completed(body["checkout_session_id"])
    before, before_counts = await snapshot(sessionmaker, world.tenant.id), await counts(sessionmaker, world)
    tampered = payload.replace(b'"amount_total": 1000', b'"amount_total": 9000')
    assert tampered != payload
    attempts = [
        (payload, signature(payload, secret="whsec_somebody_else")),
        (tampered, signature(payload)),  # the genuine signature over other bytes
        (payload, signature(payload, timestamp=int(time.time()) - 3600)),  # replayed an hour later
        (payload, "t=1,v1=00"),
        (payload, "garbage"),
    ]
    for body_bytes, header in attempts:
        assert_problem(await deliver(client, body_bytes, header=header), 400, "stripe_signature_invalid")
    no_header = await client.post(f"{API}/stripe/webhook", content=payload)
    assert_problem(no_header, 400, "stripe_signature_invalid")
    garbage = b"not json at all"
    assert_problem(await deliver(client, garbage), 400, "stripe_payload_invalid")
    assert await snapshot(sessionmaker, world.tenant.id) == before
    assert await counts(sessionmaker, world) == before_counts
    # The genuine delivery still works afterwards.
    assert (await deliver(client, payload)).json()["outcome"] == "processed"


async def test_unknown_event_types_are_recorded_once_and_ignored(
    client: httpx.AsyncClient, stripe_gateway: LocalstripeGateway
) -> None:
    payload = json.dumps({
        "id": f"evt_unknown_{time.time_ns()}", "object": "event", "type": "customer.created", "created": 1,
        "data": {"object": {"id": "cus_1", "object": "customer"}},
    }).encode()
    assert (await deliver(client, payload)).json()["outcome"] == "ignored"
    assert (await deliver(client, payload)).json()["outcome"] == "duplicate"


async def test_topup_bad_input_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, world: World, stripe_gateway: LocalstripeGateway,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    other = await make_world(sessionmaker, client, float_points=0)
    async with transaction(sessionmaker) as session:
        tenant = await session.get(Tenant, world.tenant.id)
        tenant.point_value_cents = 5
        session.add(tenant)
    before = await counts(sessionmaker, world)
    url = f"{API}/merchants/{world.bakery.id}/topups"
    assert_problem(await start_topup(client, world, 1001), 422, "amount_not_whole_points")
    assert_problem(await start_topup(client, world, 10), 422, "amount_out_of_range")
    assert_problem(await start_topup(client, world, 10**9), 422, "amount_out_of_range")
    assert_problem(await client.post(url, json={"amount_cents": "1000"}, headers=world.headers("owner", **{"Idempotency-Key": "k-12345678"})), 422)
    assert_problem(await client.post(url, json={"amount_cents": 1000, "points": 5}, headers=world.headers("owner", **{"Idempotency-Key": "k-12345678"})), 422)
    assert_problem(await client.post(url, json={"amount_cents": 1000}, headers=world.headers("owner")), 400, "idempotency_key_missing")
    assert_problem(await start_topup(client, world, 1000, who="cashier"), 403)
    assert_problem(await start_topup(client, world, 1000, who="auditor"), 403)
    assert_problem(await start_topup(client, world, 1000, merchant_id=world.shop.id), 404, "merchant_not_found")
    assert_problem(await start_topup(client, world, 1000, who="admin", merchant_id=other.bakery.id), 404)
    assert_problem(await start_topup(client, world, 1000, who="admin", merchant_id=2**63), 422)
    assert_problem(await client.get(f"{API}/merchants/{world.shop.id}/float", headers=world.headers("owner")), 404)
    assert await counts(sessionmaker, world) == before

    first = await start_topup(client, world, 1000, key="same-key-123")
    again = await start_topup(client, world, 1000, key="same-key-123")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and first.json()["points"] == 200
    assert len(stripe_gateway.sessions) == 1
    assert_problem(await start_topup(client, world, 2000, key="same-key-123"), 409, "idempotency_key_reused")


async def test_without_a_stripe_key_topups_answer_503(
    app: FastAPI, client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    previous = getattr(app.state, "stripe_gateway", None)
    app.state.stripe_gateway = StripeGateway(secret_key=None, webhook_secret=None)
    try:
        before = await counts(sessionmaker, world)
        assert_problem(await start_topup(client, world, 1000), 503, "payments_unavailable")
        assert_problem(await deliver(client, b"{}"), 503, "payments_unavailable")
        assert await counts(sessionmaker, world) == before
    finally:
        app.state.stripe_gateway = previous
