"""Physical savings cards: batches, the till's card lookup and PIN check, registration.

A card is made with its own anonymous shopper and wallet, so it can earn before anybody
registers it. Registering moves that wallet's points into the shopper's wallet (one
``wallet_merge`` transfer) and points the card at the shopper, so later earns with the
card land there directly. See ``pins.py`` for how PINs are chosen and kept, and why the
PIN sheet can be downloaded again for ``SHEET_TTL`` after the batch was made.

PIN lockout: every wrong PIN counts (after the request rolls back, through
``DurableFailure``); at ``MAX_PIN_ATTEMPTS`` the card locks for ``LOCK_DURATION``. The
counter is reset only by a right PIN, so after a lock has run out each further wrong
PIN locks the card again at once: a thief gets 5 guesses, then one per 15 minutes,
rather than 5 per 15 minutes (which would find a PIN in about ten days).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import case, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cards import pins
from backend.cards.errors import (
    CardAlreadyRegistered,
    CardBatchNotFound,
    CardBlocked,
    CardLocked,
    CardPinRequired,
    CardPinWrong,
    CardSheetGone,
    CardUnknown,
)
from backend.cards.models import Card, CardBatch
from backend.cards.numbers import new_card_number, validate_card_number
from backend.core.idempotency import request_fingerprint
from backend.core.types import UTCDateTime, utcnow
from backend.ledger import service as ledger
from backend.ledger.models import Transfer
from backend.tenants.models import Tenant
from backend.wallets.models import Shopper

MAX_BATCH_SIZE = 500
MAX_PIN_ATTEMPTS = 5
LOCK_DURATION = timedelta(minutes=15)
SHEET_TTL = timedelta(hours=24)
MERGE_KIND = "wallet_merge"

card_table = Card.__table__
shopper_table = Shopper.__table__


def wallet_code(shopper_id: int) -> str:
    return f"shopper:{shopper_id}:wallet"


# --------------------------------------------------------------------------- batches


async def create_batch(
    session: AsyncSession,
    *,
    tenant_id: int,
    count: int,
    signing_keys: Mapping[str, str],
    created_by_user_id: int | None = None,
    now: datetime | None = None,
) -> tuple[CardBatch, list[Card]]:
    """``count`` new cards, each with its own anonymous shopper, wallet and PIN."""
    if not 1 <= count <= MAX_BATCH_SIZE:
        raise ValueError(f"count must be 1..{MAX_BATCH_SIZE}")  # the schema refuses it first
    now = now or utcnow()
    tenant = await _tenant(session, tenant_id)
    batch = CardBatch(
        tenant_id=tenant_id, size=count, created_by_user_id=created_by_user_id, created_at=now
    )
    session.add(batch)
    await session.flush()
    assert batch.id is not None

    numbers = await _fresh_numbers(session, tenant_id=tenant_id, count=count)
    key = pins.pin_key(_signing_secret(signing_keys))
    pin_hashes = await pins.hash_pins(
        [pins.derive_pin(key, tenant_id=tenant_id, batch_id=batch.id, number=n) for n in numbers]
    )
    language = (tenant.locale or "nl")[:2]
    shopper_ids = (
        (
            await session.execute(
                insert(shopper_table).returning(shopper_table.c.id, sort_by_parameter_order=True),
                [
                    {
                        "tenant_id": tenant_id,
                        "user_id": None,
                        "first_name": "",
                        "language": language,
                        "created_at": now,
                    }
                    for _ in numbers
                ],
            )
        )
        .scalars()
        .all()
    )
    for shopper_id in shopper_ids:
        await ledger.open_shopper_wallet(session, tenant_id=tenant_id, shopper_id=shopper_id)
    card_ids = (
        (
            await session.execute(
                insert(card_table).returning(card_table.c.id, sort_by_parameter_order=True),
                [
                    {
                        "tenant_id": tenant_id,
                        "batch_id": batch.id,
                        "number": number,
                        "shopper_id": shopper_id,
                        "pin_hash": pin_hash,
                        "failed_pin_attempts": 0,
                        "created_at": now,
                    }
                    for number, shopper_id, pin_hash in zip(
                        numbers, shopper_ids, pin_hashes, strict=True
                    )
                ],
            )
        )
        .scalars()
        .all()
    )
    cards = list(
        (
            await session.execute(select(Card).where(Card.id.in_(card_ids)).order_by(Card.id))
        ).scalars()
    )
    return batch, cards


async def _fresh_numbers(session: AsyncSession, *, tenant_id: int, count: int) -> list[str]:
    """``count`` random numbers no card of the tenant has yet (10^9 per town: a clash is rare)."""
    chosen: list[str] = []
    seen: set[str] = set()
    while len(chosen) < count:
        candidates = {new_card_number(tenant_id) for _ in range(count - len(chosen))} - seen
        taken = set(
            (
                await session.execute(
                    select(Card.number).where(
                        Card.tenant_id == tenant_id, Card.number.in_(candidates)
                    )
                )
            ).scalars()
        )
        chosen.extend(sorted(candidates - taken))
        seen |= candidates
    return chosen


def _signing_secret(signing_keys: Mapping[str, str]) -> str:
    return next(iter(signing_keys.values()))


async def _tenant(session: AsyncSession, tenant_id: int) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    assert tenant is not None, "the principal's tenant exists"
    return tenant


@dataclass(frozen=True, slots=True)
class BatchSummary:
    batch: CardBatch
    registered: int
    blocked: int


async def list_batches(
    session: AsyncSession, *, tenant_id: int, limit: int, before_id: int | None = None
) -> list[BatchSummary]:
    query = (
        select(CardBatch)
        .where(CardBatch.tenant_id == tenant_id)
        .order_by(CardBatch.id.desc())
        .limit(limit + 1)
    )
    if before_id is not None:
        query = query.where(CardBatch.id < before_id)
    batches = list((await session.execute(query)).scalars())
    counts: dict[int, tuple[int, int]] = {}
    if batches:
        rows = await session.execute(
            select(Card.batch_id, func.count(Card.registered_at), func.count(Card.blocked_at))
            .where(Card.tenant_id == tenant_id, Card.batch_id.in_([b.id for b in batches]))
            .group_by(Card.batch_id)
        )
        counts = {row[0]: (row[1], row[2]) for row in rows}
    return [BatchSummary(b, *counts.get(b.id, (0, 0))) for b in batches]  # type: ignore[arg-type]


async def get_batch(session: AsyncSession, *, tenant_id: int, batch_id: int) -> CardBatch:
    batch = await session.get(CardBatch, batch_id)
    if batch is None or batch.tenant_id != tenant_id:
        raise CardBatchNotFound(f"Card batch {batch_id} does not exist in this municipality.")
    return batch


@dataclass(frozen=True, slots=True)
class PinSheet:
    town: str
    batch: CardBatch
    cards: list[tuple[str, str]]  # (number, PIN), in card order


async def pin_sheet(
    session: AsyncSession,
    *,
    tenant_id: int,
    batch_id: int,
    signing_keys: Mapping[str, str],
    now: datetime | None = None,
) -> PinSheet:
    """The numbers and PINs of a batch, within ``SHEET_TTL`` of its creation only."""
    now = now or utcnow()
    batch = await get_batch(session, tenant_id=tenant_id, batch_id=batch_id)
    if now > batch.created_at + SHEET_TTL:
        raise CardSheetGone(
            "PINs are printable for 24 hours after a batch is made; make a new batch for missing cards."
        )
    cards = list(
        (
            await session.execute(
                select(Card)
                .where(Card.tenant_id == tenant_id, Card.batch_id == batch.id)
                .order_by(Card.id)
            )
        ).scalars()
    )
    key = await _batch_pin_key(batch, cards, signing_keys)
    if key is None:
        raise CardSheetGone(
            "The key these PINs were made with has been rotated out; make a new batch."
        )
    tenant = await _tenant(session, tenant_id)
    return PinSheet(
        town=tenant.name,
        batch=batch,
        cards=[
            (
                c.number,
                pins.derive_pin(key, tenant_id=tenant_id, batch_id=batch.id, number=c.number),
            )
            for c in cards
        ],
    )


async def _batch_pin_key(
    batch: CardBatch, cards: list[Card], signing_keys: Mapping[str, str]
) -> bytes | None:
    # The batch was made with whichever key signed at the time; its first card tells which.
    if not cards:
        return None
    probe = cards[0]
    for secret in signing_keys.values():
        key = pins.pin_key(secret)
        pin = pins.derive_pin(
            key, tenant_id=batch.tenant_id, batch_id=batch.id, number=probe.number
        )  # type: ignore[arg-type]
        if await pins.verify_pin(probe.pin_hash, pin):
            return key
    return None


# --------------------------------------------------------------------------- the till


async def find_card_for_scan(session: AsyncSession, *, tenant_id: int, number: str) -> Card:
    """The card behind a scanned or typed number (spaces, dashes and ``KPC1:`` allowed).

    422 ``card_number_invalid`` for a typo the check digit catches, 404 ``card_unknown``,
    403 ``card_blocked``. The row is share-locked (PostgreSQL) until the transaction
    ends, so a registration of the same card waits for an earn in flight instead of
    leaving its points behind in the card's old wallet.
    """
    normalised = validate_card_number(number)
    card = (
        await session.execute(
            select(Card)
            .where(Card.tenant_id == tenant_id, Card.number == normalised)
            .with_for_update(read=True)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if card is None:
        raise CardUnknown("No card with this number in this municipality.")
    if card.blocked_at is not None:
        raise CardBlocked("This card was reported lost or blocked; it can no longer be used.")
    return card


async def check_card_pin(
    session: AsyncSession, *, card: Card, pin: str | None, now: datetime
) -> None:
    """Pass, or raise: 423 ``card_locked``, 403 ``card_pin_required`` / ``card_pin_wrong``.

    A wrong PIN is a ``DurableFailure``: the attempt is counted after the request rolls
    back. A right PIN clears earlier failures in the caller's (successful) transaction.
    """
    # Lock the row so concurrent guesses on one card are checked one at a time.
    await session.execute(
        select(Card)
        .where(Card.id == card.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if card.locked_until is not None and card.locked_until > now:
        raise CardLocked(
            "Too many wrong PINs. Try again later.", locked_until=card.locked_until.isoformat()
        )
    if not pin:
        raise CardPinRequired("Spending with a card needs its PIN.")
    if not isinstance(pin, str) or not await pins.verify_pin(card.pin_hash, pin):
        attempts = card.failed_pin_attempts + 1
        extra: dict[str, object] = {"attempts_left": max(0, MAX_PIN_ATTEMPTS - attempts)}
        if attempts >= MAX_PIN_ATTEMPTS:
            extra["locked_until"] = (now + LOCK_DURATION).isoformat()
        error = CardPinWrong("The PIN is not right.", **extra)
        raise error.with_memory(
            partial(_count_wrong_pin, tenant_id=card.tenant_id, card_id=card.id, now=now)
        )
    if card.failed_pin_attempts or card.locked_until is not None:
        card.failed_pin_attempts = 0
        card.locked_until = None
        session.add(card)
        await session.flush()


async def _count_wrong_pin(
    session: AsyncSession, *, tenant_id: int, card_id: int, now: datetime
) -> None:
    # One statement, so concurrent wrong PINs each count (no read-modify-write).
    attempts = card_table.c.failed_pin_attempts + 1
    await session.execute(
        update(card_table)
        .where(card_table.c.tenant_id == tenant_id, card_table.c.id == card_id)
        .values(
            failed_pin_attempts=attempts,
            locked_until=case(
                (attempts >= MAX_PIN_ATTEMPTS, literal(now + LOCK_DURATION, UTCDateTime())),
                else_=card_table.c.locked_until,
            ),
        )
    )


# --------------------------------------------------------------------------- shoppers


@dataclass(frozen=True, slots=True)
class Registration:
    card: Card
    points_moved: int
    transfer_id: int | None
    replayed: bool


async def register_card(
    session: AsyncSession,
    *,
    tenant_id: int,
    shopper_id: int,
    number: str,
    pin: str | None,
    idempotency_key: str,
    now: datetime | None = None,
) -> Registration:
    """Bind a card to a shopper and move the card wallet's points into theirs.

    Registering a card that is already this shopper's is a replay with the same result,
    whatever the key; another shopper's card is 409 ``card_already_registered``.
    """
    now = now or utcnow()
    card = await find_card_for_scan(session, tenant_id=tenant_id, number=number)
    # Exclusive from here on: two registrations of one card run one after the other.
    await session.execute(
        select(Card)
        .where(Card.id == card.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    my_wallet = await ledger.find_account(
        session, tenant_id=tenant_id, code=wallet_code(shopper_id)
    )
    if card.shopper_id == shopper_id:
        return await _earlier_registration(session, card=card, wallet_id=my_wallet.id)
    if card.registered_at is not None:
        raise CardAlreadyRegistered(
            "This card belongs to another account. Lost it? Ask the municipality."
        )
    await check_card_pin(session, card=card, pin=pin, now=now)

    card_wallet = await ledger.find_account(
        session, tenant_id=tenant_id, code=wallet_code(card.shopper_id)
    )
    balance = (
        await ledger.get_balances(
            session, tenant_id=tenant_id, account_ids=[card_wallet.id], now=now
        )
    )[card_wallet.id]
    transfer_id: int | None = None
    moved = balance.available
    if moved > 0:
        transfer = await ledger.post_transfer(
            session,
            tenant_id=tenant_id,
            idempotency_key=f"card-register:{idempotency_key}",
            kind=MERGE_KIND,
            debit_account_id=card_wallet.id,
            credit_account_id=my_wallet.id,
            amount=moved,
            description=f"Kaart ...{card.number[-4:]} geregistreerd",
            meta={"card_id": card.id},
            fingerprint=request_fingerprint(
                "cards.register", {"card_id": card.id, "shopper_id": shopper_id}
            ),
            now=now,
        )
        transfer_id = transfer.id
    card.shopper_id = shopper_id
    card.registered_at = now
    session.add(card)
    await session.flush()
    return Registration(
        card=card, points_moved=max(moved, 0), transfer_id=transfer_id, replayed=False
    )


async def _earlier_registration(
    session: AsyncSession, *, card: Card, wallet_id: int
) -> Registration:
    # A shopper merges only a handful of cards, ever: reading them all is cheap.
    merges = (
        await session.execute(
            select(Transfer).where(
                Transfer.tenant_id == card.tenant_id,
                Transfer.kind == MERGE_KIND,
                Transfer.credit_account_id == wallet_id,
            )
        )
    ).scalars()
    merge = next((t for t in merges if (t.meta or {}).get("card_id") == card.id), None)
    return Registration(
        card=card,
        points_moved=merge.amount if merge else 0,
        transfer_id=merge.id if merge else None,
        replayed=True,
    )


async def list_shopper_cards(
    session: AsyncSession, *, tenant_id: int, shopper_id: int
) -> list[Card]:
    query = (
        select(Card)
        .where(
            Card.tenant_id == tenant_id,
            Card.shopper_id == shopper_id,
            Card.registered_at.is_not(None),
        )
        .order_by(Card.registered_at, Card.id)
    )
    return list((await session.execute(query)).scalars())


async def block_card(
    session: AsyncSession, *, tenant_id: int, number: str, now: datetime | None = None
) -> Card:
    """Block a lost card for good (its points stay in its wallet). Blocking twice is a no-op."""
    normalised = validate_card_number(number)
    card = (
        await session.execute(
            select(Card)
            .where(Card.tenant_id == tenant_id, Card.number == normalised)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if card is None:
        raise CardUnknown("No card with this number in this municipality.")
    if card.blocked_at is None:
        card.blocked_at = now or utcnow()
        session.add(card)
        await session.flush()
    return card
