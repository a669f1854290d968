"""A shopper registers a card: its points move into the wallet, future earns land there.

Also: the wrong-PIN count survives the failed request, failures write nothing else,
another shopper's or another town's card is refused, and blocking a lost card.
"""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.auth.models import Role
from backend.cards.models import Card
from backend.cards.numbers import format_card_number
from backend.core.db import transaction
from backend.ledger.models import Transfer
from tests.fixtures.cards import (
    balance_of,
    card_pin,
    earn_into_card,
    load_card,
    make_batch,
    shopper_id_of,
    wrong_pin,
)
from tests.fixtures.factories import World, idem, login, make_tenant, make_user
from tests.fixtures.ledger import assert_problem, check_ledger

API = "/api/v1/me/cards"


async def _merges(sessionmaker: async_sessionmaker[AsyncSession], tenant_id: int) -> int:
    async with sessionmaker() as session:
        value = await session.scalar(
            select(func.count())
            .select_from(Transfer)
            .where(Transfer.tenant_id == tenant_id, Transfer.kind == "wallet_merge")
        )
        await session.rollback()
        return int(value or 0)


async def _second_shopper(
    world: World, sessionmaker: async_sessionmaker[AsyncSession], client: httpx.AsyncClient
) -> str:
    async with transaction(sessionmaker) as session:
        user = await make_user(session, tenant=world.tenant, role=Role.SHOPPER)
    return await login(client, tenant=world.tenant, user=user)


async def test_registering_moves_the_card_points_and_later_earns_land_in_the_wallet(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    card = (await make_batch(sessionmaker, tenant=world.tenant, count=2)).cards[0]
    await earn_into_card(sessionmaker, card=card, float_account=world.bakery_float, points=120)
    await earn_into_card(sessionmaker, card=card, float_account=world.bakery_float, points=30)
    tid = world.tenant.id
    me = await shopper_id_of(sessionmaker, tenant_id=tid, user_id=world.users["shopper"].id)
    anonymous = card.shopper_id
    assert await balance_of(sessionmaker, tenant_id=tid, shopper_id=anonymous) == 150

    key = idem()
    body = {"number": format_card_number(card.number), "pin": card_pin(card)}
    response = await client.post(API, json=body, headers=world.headers("shopper", **key))
    assert response.status_code == 201, response.text
    registered = response.json()
    assert registered["points_moved"] == 150 and registered["card_last4"] == card.number[-4:]
    assert registered["blocked"] is False and registered["registered_at"]
    assert card.number not in response.text and card_pin(card) not in response.text

    assert await balance_of(sessionmaker, tenant_id=tid, shopper_id=me) == 150
    assert await balance_of(sessionmaker, tenant_id=tid, shopper_id=anonymous) == 0
    async with sessionmaker() as session:
        transfer = await session.get(Transfer, registered["transfer_id"])
        assert (
            transfer.kind == "wallet_merge"
            and transfer.amount == 150
            and transfer.meta["card_id"] == card.id
        )
        await session.rollback()
    stored = await load_card(sessionmaker, card.id)
    assert stored.shopper_id == me and stored.registered_at is not None

    # A later earn with the card goes straight to the shopper's wallet.
    await earn_into_card(sessionmaker, card=stored, float_account=world.bakery_float, points=7)
    assert await balance_of(sessionmaker, tenant_id=tid, shopper_id=me) == 157

    # The same request again, or the same card with a new key: the original result, no new transfer.
    for headers in (key, idem()):
        again = await client.post(API, json=body, headers=world.headers("shopper", **headers))
        assert again.status_code == 201, again.text
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == registered
    assert await _merges(sessionmaker, tid) == 1
    assert await balance_of(sessionmaker, tenant_id=tid, shopper_id=me) == 157

    listed = await client.get(API, headers=world.headers("shopper"))
    assert listed.status_code == 200
    assert listed.json() == {
        "items": [
            {
                "card_last4": card.number[-4:],
                "registered_at": registered["registered_at"],
                "blocked": False,
            }
        ]
    }
    assert card.number not in listed.text
    await check_ledger(sessionmaker, tid)


async def test_an_empty_card_registers_without_a_transfer(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    card = (await make_batch(sessionmaker, tenant=world.tenant, count=1)).cards[0]
    response = await client.post(
        API,
        json={"number": card.number, "pin": card_pin(card)},
        headers=world.headers("shopper", **idem()),
    )
    assert response.status_code == 201, response.text
    assert response.json()["points_moved"] == 0 and response.json()["transfer_id"] is None
    assert await _merges(sessionmaker, world.tenant.id) == 0


async def test_a_card_registered_to_someone_else_is_409(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    card = (await make_batch(sessionmaker, tenant=world.tenant, count=1)).cards[0]
    await earn_into_card(sessionmaker, card=card, float_account=world.bakery_float, points=10)
    body = {"number": card.number, "pin": card_pin(card)}
    assert (
        await client.post(API, json=body, headers=world.headers("shopper", **idem()))
    ).status_code == 201
    other = await _second_shopper(world, sessionmaker, client)
    response = await client.post(
        API, json=body, headers={"Authorization": f"Bearer {other}", **idem()}
    )
    assert_problem(response, 409, "card_already_registered")
    assert (await load_card(sessionmaker, card.id)).failed_pin_attempts == 0
    assert await _merges(sessionmaker, world.tenant.id) == 1


async def test_wrong_pin_is_counted_although_the_request_fails_and_nothing_else_is_written(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    card = (await make_batch(sessionmaker, tenant=world.tenant, count=1)).cards[0]
    await earn_into_card(sessionmaker, card=card, float_account=world.bakery_float, points=40)
    tid = world.tenant.id
    me = await shopper_id_of(sessionmaker, tenant_id=tid, user_id=world.users["shopper"].id)
    body = {"number": card.number, "pin": wrong_pin(card)}
    for attempt in range(1, 6):
        response = await client.post(API, json=body, headers=world.headers("shopper", **idem()))
        problem = assert_problem(response, 403, "card_pin_wrong")
        assert problem["attempts_left"] == 5 - attempt
        assert card_pin(card) not in response.text
        stored = await load_card(sessionmaker, card.id)
        assert stored.failed_pin_attempts == attempt
    assert "locked_until" in problem
    assert stored.shopper_id == card.shopper_id and stored.registered_at is None

    # Locked now: even the right PIN gets 423 until the lock runs out.
    right = {"number": card.number, "pin": card_pin(card)}
    locked = assert_problem(
        await client.post(API, json=right, headers=world.headers("shopper", **idem())),
        423,
        "card_locked",
    )
    assert locked["locked_until"] == problem["locked_until"]
    assert await balance_of(sessionmaker, tenant_id=tid, shopper_id=card.shopper_id) == 40
    assert await balance_of(sessionmaker, tenant_id=tid, shopper_id=me) == 0
    assert await _merges(sessionmaker, tid) == 0
    await check_ledger(sessionmaker, tid)


async def test_bad_requests_write_nothing(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    card = (await make_batch(sessionmaker, tenant=world.tenant, count=1)).cards[0]
    typo = card.number[:4] + str((int(card.number[4]) + 3) % 10) + card.number[5:]
    shopper = world.headers("shopper", **idem())
    assert_problem(
        await client.post(API, json={"number": typo, "pin": card_pin(card)}, headers=shopper),
        422,
        "card_number_invalid",
    )
    assert_problem(
        await client.post(API, json={"number": "12", "pin": "1234"}, headers=shopper),
        422,
        "card_number_invalid",
    )
    assert_problem(
        await client.post(API, json={"number": card.number}, headers=shopper),
        422,
        "validation_error",
    )
    assert_problem(
        await client.post(
            API,
            json={"number": card.number, "pin": card_pin(card)},
            headers=world.headers("shopper"),
        ),
        400,
        "idempotency_key_missing",
    )
    for who in ("admin", "cashier"):
        assert_problem(
            await client.post(
                API,
                json={"number": card.number, "pin": card_pin(card)},
                headers=world.headers(who, **idem()),
            ),
            403,
            "forbidden",
        )
    stored = await load_card(sessionmaker, card.id)
    assert stored.registered_at is None and stored.failed_pin_attempts == 0


async def test_another_towns_card_is_unknown(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with transaction(sessionmaker) as session:
        other_town = await make_tenant(session)
    foreign = (await make_batch(sessionmaker, tenant=other_town, count=1)).cards[0]
    response = await client.post(
        API,
        json={"number": foreign.number, "pin": card_pin(foreign)},
        headers=world.headers("shopper", **idem()),
    )
    assert_problem(response, 404, "card_unknown")
    assert_problem(
        await client.post(f"/api/v1/cards/{foreign.number}/block", headers=world.headers("admin")),
        404,
        "card_unknown",
    )
    stored = await load_card(sessionmaker, foreign.id)
    assert (
        stored.registered_at is None
        and stored.blocked_at is None
        and stored.failed_pin_attempts == 0
    )


async def test_admin_blocks_a_lost_card(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    card = (await make_batch(sessionmaker, tenant=world.tenant, count=1)).cards[0]
    url = f"/api/v1/cards/{card.number}/block"
    assert_problem(await client.post(url, headers=world.headers("auditor")), 403)
    assert (await load_card(sessionmaker, card.id)).blocked_at is None
    blocked = await client.post(url, headers=world.headers("admin"))
    assert blocked.status_code == 200, blocked.text
    assert blocked.json()["card_last4"] == card.number[-4:]
    again = await client.post(url, headers=world.headers("admin"))
    assert again.json()["blocked_at"] == blocked.json()["blocked_at"]
    response = await client.post(
        API,
        json={"number": card.number, "pin": card_pin(card)},
        headers=world.headers("shopper", **idem()),
    )
    assert_problem(response, 403, "card_blocked")
    listed = (await client.get("/api/v1/cards/batches", headers=world.headers("admin"))).json()[
        "items"
    ]
    assert listed[0]["blocked"] == 1
    async with sessionmaker() as session:
        assert (await session.get(Card, card.id)).registered_at is None
        await session.rollback()
