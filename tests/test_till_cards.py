"""Cards at the till: earn with a card scan, spend with its PIN, lock after five wrong PINs."""

from __future__ import annotations

import pytest

from backend.cards import pins
from backend.cards import service as cards
from backend.cards.numbers import new_card_number
from backend.core.db import transaction
from tests.fixtures.ledger import assert_problem, check_ledger
from tests.fixtures.till import API, keyed, wallet_balance, writes


@pytest.fixture
async def card(sessionmaker, world, app):
    """One card of a fresh batch and its PIN, recomputed the way the PIN sheet does."""
    settings = app.state.settings
    keys = settings.signing_keys()
    async with transaction(sessionmaker) as session:
        batch, made = await cards.create_batch(
            session, tenant_id=world.tenant.id, count=1, signing_keys=keys
        )
    number = made[0].number
    pin = pins.derive_pin(
        pins.pin_key(next(iter(keys.values()))),
        tenant_id=world.tenant.id,
        batch_id=batch.id,
        number=number,
    )
    async with sessionmaker() as session:
        from backend.ledger.service import find_account

        wallet_id = (
            await find_account(
                session, tenant_id=world.tenant.id, code=f"shopper:{made[0].shopper_id}:wallet"
            )
        ).id
        await session.rollback()
    return {"number": number, "pin": pin, "wallet_id": wallet_id}


async def test_a_card_earns_by_its_qr_or_its_typed_number(client, world, sessionmaker, card):
    for scan in (f"KPC1:{card['number']}", card["number"]):
        response = await client.post(
            f"{API}/till/earns", json={"scan": scan, "purchase_cents": 1000}, headers=keyed(world)
        )
        assert response.status_code == 201, response.text
        assert response.json()["shopper_display"] == f"Kaart ••••{card['number'][-4:]}"
    assert (await wallet_balance(sessionmaker, world, card["wallet_id"])).balance == 20
    view = await client.post(
        f"{API}/till/identify",
        json={"scan": card["number"], "purpose": "spend"},
        headers=world.headers("cashier"),
    )
    assert view.json() == {
        "kind": "card",
        "display": f"Kaart ••••{card['number'][-4:]}",
        "card_last4": card["number"][-4:],
        "needs_pin": True,
        "available_points": 20,
        "token_expires_at": None,
    }
    earn_view = await client.post(
        f"{API}/till/identify", json={"scan": card["number"]}, headers=world.headers("cashier")
    )
    assert earn_view.json()["needs_pin"] is False
    await check_ledger(sessionmaker, world.tenant.id)


async def test_spending_with_a_card_needs_the_right_pin_and_five_wrong_ones_lock_it(
    client, world, sessionmaker, card
):
    await client.post(
        f"{API}/till/earns",
        json={"scan": card["number"], "purchase_cents": 5000},
        headers=keyed(world),
    )
    wrong = "0000" if card["pin"] != "0000" else "1111"
    before = await writes(sessionmaker, world.tenant.id)
    assert_problem(
        await client.post(
            f"{API}/till/redemptions",
            json={"scan": card["number"], "points": 10},
            headers=keyed(world),
        ),
        403,
        "card_pin_required",
    )
    for attempt in range(1, 6):
        body = assert_problem(
            await client.post(
                f"{API}/till/redemptions",
                json={"scan": card["number"], "points": 10, "pin": wrong},
                headers=keyed(world),
            ),
            403,
            "card_pin_wrong",
        )
        assert body["attempts_left"] == 5 - attempt
    body = assert_problem(
        await client.post(
            f"{API}/till/redemptions",
            json={"scan": card["number"], "points": 10, "pin": card["pin"]},
            headers=keyed(world),
        ),
        423,
        "card_locked",
    )
    assert body["locked_until"]
    assert await writes(sessionmaker, world.tenant.id) == before


async def test_the_right_pin_holds_the_points(client, world, sessionmaker, card):
    await client.post(
        f"{API}/till/earns",
        json={"scan": f"KPC1:{card['number']}", "purchase_cents": 5000},
        headers=keyed(world),
    )
    response = await client.post(
        f"{API}/till/redemptions",
        json={"scan": card["number"], "points": 30, "pin": card["pin"]},
        headers=keyed(world),
    )
    assert response.status_code == 201, response.text
    assert response.json()["shopper_display"].startswith("Kaart")
    balance = await wallet_balance(sessionmaker, world, card["wallet_id"])
    assert (balance.balance, balance.pending) == (50, 30)


async def test_an_unknown_card_is_refused(client, world, sessionmaker):
    before = await writes(sessionmaker, world.tenant.id)
    number = new_card_number(world.tenant.id)
    assert_problem(
        await client.post(
            f"{API}/till/earns", json={"scan": number, "purchase_cents": 1000}, headers=keyed(world)
        ),
        404,
        "card_unknown",
    )
    assert await writes(sessionmaker, world.tenant.id) == before
