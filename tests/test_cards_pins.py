"""The till's card lookup and PIN check: typos, unknown and blocked cards, the lockout."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.cards import service as cards
from backend.cards.errors import (
    CardBlocked,
    CardLocked,
    CardNumberInvalid,
    CardPinRequired,
    CardPinWrong,
    CardUnknown,
)
from backend.cards.models import Card
from backend.cards.numbers import format_card_number, luhn_check_digit
from backend.core.db import transaction
from backend.core.types import utcnow
from tests.fixtures.cards import card_pin, load_card, make_batch, wrong_pin
from tests.fixtures.factories import World, make_tenant


def _typo(number: str) -> str:
    return number[:5] + str((int(number[5]) + 1) % 10) + number[6:]


async def test_find_card_for_scan(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    made = await make_batch(sessionmaker, tenant=world.tenant, count=2)
    card = made.cards[0]
    async with sessionmaker() as session:
        for typed in (card.number, format_card_number(card.number), f"KPC1:{card.number}"):
            found = await cards.find_card_for_scan(session, tenant_id=world.tenant.id, number=typed)
            assert found.id == card.id
        with pytest.raises(CardNumberInvalid):
            await cards.find_card_for_scan(
                session, tenant_id=world.tenant.id, number=_typo(card.number)
            )
        unknown = card.number[:3] + "000000000"
        unknown += luhn_check_digit(unknown)
        with pytest.raises(CardUnknown):
            await cards.find_card_for_scan(session, tenant_id=world.tenant.id, number=unknown)
        await session.rollback()

    async with transaction(sessionmaker) as session:
        other = await make_tenant(session)
    async with sessionmaker() as session:
        # Another town's card does not exist here (404, never 403).
        with pytest.raises(CardUnknown):
            await cards.find_card_for_scan(session, tenant_id=other.id, number=card.number)
        await session.rollback()

    async with transaction(sessionmaker) as session:
        await cards.block_card(session, tenant_id=world.tenant.id, number=card.number)
    async with sessionmaker() as session:
        with pytest.raises(CardBlocked) as caught:
            await cards.find_card_for_scan(session, tenant_id=world.tenant.id, number=card.number)
        assert caught.value.status == 403 and caught.value.code == "card_blocked"
        assert (
            await cards.find_card_for_scan(
                session, tenant_id=world.tenant.id, number=made.cards[1].number
            )
        ).id
        await session.rollback()


async def _check(
    sessionmaker: async_sessionmaker[AsyncSession], card: Card, pin: str | None, now
) -> None:
    """Run check_card_pin as a route would: commit on success; on a DurableFailure roll
    back and run its ``remember`` in a transaction of its own."""
    session = sessionmaker()
    try:
        found = await session.get(Card, card.id)
        await cards.check_card_pin(session, card=found, pin=pin, now=now)
        await session.commit()
    except CardPinWrong as exc:
        await session.rollback()
        assert exc.remember is not None
        async with transaction(sessionmaker) as side:
            await exc.remember(side)
        raise
    finally:
        await session.rollback()
        await session.close()


async def test_right_pin_passes_and_missing_pin_is_asked_for(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    card = (await make_batch(sessionmaker, tenant=world.tenant, count=1)).cards[0]
    now = utcnow()
    await _check(sessionmaker, card, card_pin(card), now)
    for missing in (None, ""):
        with pytest.raises(CardPinRequired) as caught:
            await _check(sessionmaker, card, missing, now)
        assert caught.value.status == 403 and caught.value.code == "card_pin_required"
    assert (await load_card(sessionmaker, card.id)).failed_pin_attempts == 0


async def test_five_wrong_pins_lock_for_15_minutes_then_the_right_pin_unlocks(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    card = (await make_batch(sessionmaker, tenant=world.tenant, count=1)).cards[0]
    now = utcnow()
    bad = wrong_pin(card)
    for attempt in range(1, 5):
        with pytest.raises(CardPinWrong) as caught:
            await _check(sessionmaker, card, bad, now)
        assert caught.value.status == 403 and caught.value.extra["attempts_left"] == 5 - attempt
        assert bad not in str(caught.value.extra) and card_pin(card) not in str(caught.value.extra)
        stored = await load_card(sessionmaker, card.id)
        assert stored.failed_pin_attempts == attempt and stored.locked_until is None

    with pytest.raises(CardPinWrong) as caught:
        await _check(sessionmaker, card, "12x4", now)  # not even a PIN: counts all the same
    assert caught.value.extra["attempts_left"] == 0
    lock_end = now + timedelta(minutes=15)
    assert caught.value.extra["locked_until"] == lock_end.isoformat()
    stored = await load_card(sessionmaker, card.id)
    assert stored.failed_pin_attempts == 5 and stored.locked_until == lock_end

    # Locked: even the right PIN is refused, and the refusal itself is not counted.
    with pytest.raises(CardLocked) as locked:
        await _check(sessionmaker, card, card_pin(card), now + timedelta(minutes=14, seconds=59))
    assert locked.value.status == 423 and locked.value.extra["locked_until"] == lock_end.isoformat()
    assert (await load_card(sessionmaker, card.id)).failed_pin_attempts == 5

    # After 15 minutes the right PIN works and clears the failures.
    await _check(sessionmaker, card, card_pin(card), lock_end)
    stored = await load_card(sessionmaker, card.id)
    assert stored.failed_pin_attempts == 0 and stored.locked_until is None
    with pytest.raises(CardPinWrong) as caught:
        await _check(sessionmaker, card, bad, lock_end)
    assert caught.value.extra["attempts_left"] == 4


async def test_after_a_lock_runs_out_each_further_wrong_pin_locks_again(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    card = (await make_batch(sessionmaker, tenant=world.tenant, count=1)).cards[0]
    now = utcnow()
    for _ in range(5):
        with pytest.raises(CardPinWrong):
            await _check(sessionmaker, card, wrong_pin(card), now)
    later = now + timedelta(minutes=16)
    with pytest.raises(CardPinWrong) as caught:
        await _check(sessionmaker, card, wrong_pin(card), later)
    assert caught.value.extra["attempts_left"] == 0
    stored = await load_card(sessionmaker, card.id)
    assert stored.failed_pin_attempts == 6 and stored.locked_until == later + timedelta(minutes=15)
    with pytest.raises(CardLocked):
        await _check(sessionmaker, card, card_pin(card), later + timedelta(minutes=1))


async def test_pins_differ_between_cards(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    made = await make_batch(sessionmaker, tenant=world.tenant, count=40)
    pins = [card_pin(c) for c in made.cards]
    assert all(len(p) == 4 and p.isdigit() for p in pins)
    assert len(set(pins)) > 30  # 40 draws from 10,000: a handful of repeats at most
    # One card's PIN does not open another (unless they happen to share it).
    first, second = (
        made.cards[0],
        next(c for c in made.cards if card_pin(c) != card_pin(made.cards[0])),
    )
    with pytest.raises(CardPinWrong):
        await _check(sessionmaker, second, card_pin(first), utcnow())
