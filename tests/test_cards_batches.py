"""Card batches through the API: who may make them, what a batch holds, the PIN sheet."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.auth.models import Role
from backend.cards import pins
from backend.cards import service as cards
from backend.cards.errors import CardSheetGone
from backend.cards.models import Card, CardBatch
from backend.cards.numbers import format_card_number, luhn_valid, tenant_prefix
from backend.core.db import transaction
from backend.ledger.models import Account
from backend.wallets.models import Shopper
from tests.conftest import TEST_JWT_KEYS
from tests.fixtures.cards import (
    TEST_SIGNING_KEYS,
    card_pin,
    make_batch,
    pdf_pages_as_png,
    pdf_text_pages,
    qr_texts,
    require_poppler,
)
from tests.fixtures.factories import World, login, make_tenant, make_user
from tests.fixtures.ledger import assert_problem

API = "/api/v1/cards/batches"


async def _count(
    sessionmaker: async_sessionmaker[AsyncSession], model: type, tenant_id: int
) -> int:
    async with sessionmaker() as session:
        value = await session.scalar(
            select(func.count()).select_from(model).where(model.tenant_id == tenant_id)
        )
        await session.rollback()
        return int(value or 0)


async def _other_admin(
    sessionmaker: async_sessionmaker[AsyncSession], client: httpx.AsyncClient
) -> dict[str, str]:
    async with transaction(sessionmaker) as session:
        tenant = await make_tenant(session)
        admin = await make_user(session, tenant=tenant, role=Role.MUNICIPALITY_ADMIN)
    return {"Authorization": f"Bearer {await login(client, tenant=tenant, user=admin)}"}


def test_fixture_keys_are_the_apps_keys(app) -> None:
    assert app.state.settings.signing_keys() == TEST_SIGNING_KEYS == TEST_JWT_KEYS


async def test_admin_creates_a_batch_of_cards_each_with_its_own_wallet_and_pin(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.post(API, json={"count": 7}, headers=world.headers("admin"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["size"] == 7 and len(body["cards"]) == 7
    assert body["sheet_url"] == f"{API}/{body['batch_id']}/sheet.pdf"
    numbers = [c["number"] for c in body["cards"]]
    assert len(set(numbers)) == 7
    for card in body["cards"]:
        assert len(card["number"]) == 13 and luhn_valid(card["number"])
        assert card["number"].startswith(tenant_prefix(world.tenant.id))
        assert card["number_display"] == format_card_number(card["number"])
    assert "pin" not in response.text.lower()

    async with sessionmaker() as session:
        batch = await session.get(CardBatch, body["batch_id"])
        assert batch is not None and batch.tenant_id == world.tenant.id and batch.size == 7
        assert batch.created_by_user_id == world.users["admin"].id
        made = list(
            (await session.execute(select(Card).where(Card.batch_id == batch.id))).scalars()
        )
        assert sorted(c.number for c in made) == sorted(numbers)
        shoppers = {c.shopper_id for c in made}
        assert len(shoppers) == 7  # one anonymous shopper per card
        for card in made:
            shopper = await session.get(Shopper, card.shopper_id)
            assert (
                shopper.tenant_id == world.tenant.id
                and shopper.user_id is None
                and shopper.first_name == ""
            )
            wallet = await session.scalar(
                select(Account).where(Account.code == cards.wallet_code(card.shopper_id))
            )
            assert (
                wallet is not None
                and wallet.type == "shopper_wallet"
                and wallet.tenant_id == world.tenant.id
            )
            assert card.pin_hash.startswith("$argon2id$") and card_pin(card) not in card.pin_hash
            assert await pins.verify_pin(card.pin_hash, card_pin(card))
            assert (
                card.failed_pin_attempts == 0
                and card.registered_at is None
                and card.blocked_at is None
            )
        await session.rollback()


@pytest.mark.parametrize("count", [0, -1, 501, "3", 2.0, None])
async def test_count_outside_1_to_500_is_refused_and_nothing_is_made(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    count: object,
) -> None:
    response = await client.post(API, json={"count": count}, headers=world.headers("admin"))
    assert_problem(response, 422, "validation_error")
    assert await _count(sessionmaker, CardBatch, world.tenant.id) == 0
    assert await _count(sessionmaker, Card, world.tenant.id) == 0


@pytest.mark.parametrize("who", ["auditor", "owner", "cashier", "shopper"])
async def test_only_a_municipality_admin_makes_batches(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    who: str,
) -> None:
    response = await client.post(API, json={"count": 2}, headers=world.headers(who))
    assert_problem(response, 403, "forbidden")
    assert await _count(sessionmaker, CardBatch, world.tenant.id) == 0
    shoppers_before = await _count(sessionmaker, Shopper, world.tenant.id)
    assert shoppers_before == 3  # an, bert and the shopper user: no anonymous ones appeared


async def test_without_credentials_401(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post(API, json={"count": 2}), 401)
    assert_problem(await client.get(API), 401)


async def test_listing_batches_admin_and_auditor_own_town_only(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    first = (await client.post(API, json={"count": 2}, headers=world.headers("admin"))).json()
    second = (await client.post(API, json={"count": 3}, headers=world.headers("admin"))).json()
    foreign_admin = await _other_admin(sessionmaker, client)
    foreign = await client.post(API, json={"count": 1}, headers=foreign_admin)
    assert foreign.status_code == 201

    for who in ("admin", "auditor"):
        listed = await client.get(API, headers=world.headers(who))
        assert listed.status_code == 200, listed.text
        items = listed.json()["items"]
        assert [i["batch_id"] for i in items] == [second["batch_id"], first["batch_id"]]
        assert [i["size"] for i in items] == [3, 2]
        assert items[0]["registered"] == 0 and items[0]["blocked"] == 0
    page = (await client.get(API, params={"limit": 1}, headers=world.headers("admin"))).json()
    assert [i["batch_id"] for i in page["items"]] == [second["batch_id"]]
    rest = (
        await client.get(
            API, params={"cursor": page["next_cursor"]}, headers=world.headers("admin")
        )
    ).json()
    assert [i["batch_id"] for i in rest["items"]] == [first["batch_id"]] and rest[
        "next_cursor"
    ] is None
    assert_problem(await client.get(API, headers=world.headers("cashier")), 403)

    # Another town's admin neither sees nor prints this town's batches.
    assert [
        i["batch_id"] for i in (await client.get(API, headers=foreign_admin)).json()["items"]
    ] == [foreign.json()["batch_id"]]
    assert_problem(
        await client.get(f"{API}/{first['batch_id']}/sheet.pdf", headers=foreign_admin),
        404,
        "card_batch_not_found",
    )


async def test_sheet_pdf_holds_every_card_qr_and_on_separate_pages_the_pins(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    require_poppler()
    made = await make_batch(
        sessionmaker, tenant=world.tenant, count=13
    )  # 2 card pages, 1 slip page
    response = await client.get(f"{API}/{made.batch.id}/sheet.pdf", headers=world.headers("admin"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    assert response.content.startswith(b"%PDF-")

    pages = pdf_pages_as_png(response.content, tmp_path)
    assert len(pages) == 3
    decoded = [qr_texts(page) for page in pages]
    assert len(decoded[0]) == 10 and len(decoded[1]) == 3 and decoded[2] == []
    assert sorted(decoded[0] + decoded[1]) == sorted(f"KPC1:{n}" for n in made.numbers)

    texts = pdf_text_pages(response.content, tmp_path)
    assert len(texts) == 3
    card_pages, slip_page = texts[0] + texts[1], texts[2]
    assert card_pages.count("Kernpunt spaarkaart") == 13 and world.tenant.name in card_pages
    for card in made.cards:
        assert format_card_number(card.number) in card_pages
        assert format_card_number(card.number) in slip_page
        pin = card_pin(card)
        # The PIN is on its slip, next to its number, and nowhere on the card pages.
        slip_line = next(
            i
            for i, line in enumerate(slip_page.splitlines())
            if format_card_number(card.number) in line
        )
        assert any(pin in line for line in slip_page.splitlines()[slip_line : slip_line + 4])
    assert slip_page.count("Houd uw PIN geheim") == 13
    assert "Uw PIN" not in card_pages


@pytest.mark.parametrize("who", ["auditor", "owner", "shopper"])
async def test_only_admins_download_the_pin_sheet(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    who: str,
) -> None:
    made = await make_batch(sessionmaker, tenant=world.tenant, count=1)
    assert_problem(
        await client.get(f"{API}/{made.batch.id}/sheet.pdf", headers=world.headers(who)), 403
    )
    assert_problem(
        await client.get(f"{API}/999999999/sheet.pdf", headers=world.headers("admin")),
        404,
        "card_batch_not_found",
    )


async def test_pin_sheet_is_gone_after_24_hours_or_once_its_key_is_rotated_out(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    made = await make_batch(sessionmaker, tenant=world.tenant, count=2)
    created = made.batch.created_at
    async with sessionmaker() as session:
        sheet = await cards.pin_sheet(
            session,
            tenant_id=world.tenant.id,
            batch_id=made.batch.id,
            signing_keys=TEST_SIGNING_KEYS,
            now=created + timedelta(hours=23, minutes=59),
        )
        assert sheet.cards == [(c.number, card_pin(c)) for c in made.cards]
        with pytest.raises(CardSheetGone):
            await cards.pin_sheet(
                session,
                tenant_id=world.tenant.id,
                batch_id=made.batch.id,
                signing_keys=TEST_SIGNING_KEYS,
                now=created + timedelta(hours=24, seconds=1),
            )
        # A rotation that keeps the old key still prints; dropping it makes the sheet unprintable.
        rotated = {"k2": "another-signing-key-0123456789-abcdefghijkl", **TEST_SIGNING_KEYS}
        again = await cards.pin_sheet(
            session,
            tenant_id=world.tenant.id,
            batch_id=made.batch.id,
            signing_keys=rotated,
            now=created,
        )
        assert again.cards == sheet.cards
        with pytest.raises(CardSheetGone):
            await cards.pin_sheet(
                session,
                tenant_id=world.tenant.id,
                batch_id=made.batch.id,
                signing_keys={"k2": rotated["k2"]},
                now=created,
            )
        await session.rollback()


async def test_a_full_batch_of_500_in_reasonable_time(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    started = time.perf_counter()
    response = await client.post(API, json={"count": 500}, headers=world.headers("admin"))
    elapsed = time.perf_counter() - started
    assert response.status_code == 201, response.text
    numbers = [c["number"] for c in response.json()["cards"]]
    assert len(numbers) == len(set(numbers)) == 500
    assert all(luhn_valid(n) for n in numbers)
    assert await _count(sessionmaker, Card, world.tenant.id) == 500
    # Generous for a loaded CI box; on a laptop it takes a few seconds.
    assert elapsed < 60, elapsed
    sheet = await client.get(
        f"{API}/{response.json()['batch_id']}/sheet.pdf", headers=world.headers("admin")
    )
    assert sheet.status_code == 200 and sheet.content.startswith(b"%PDF-")


async def test_numbers_stay_unique_within_a_town_across_batches(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    batches = [await make_batch(sessionmaker, tenant=world.tenant, count=40) for _ in range(3)]
    numbers = [n for b in batches for n in b.numbers]
    assert len(numbers) == len(set(numbers)) == 120
