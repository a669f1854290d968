"""What a cashier scanned or typed, resolved to a shopper's wallet.

Accepted: a phone's ``KPW1:`` token, the phone's typed short code, a card's ``KPC1:``
QR or its bare 13-digit number. The card rules (unknown, blocked, PIN) belong to
``backend.cards.service``; it is imported lazily so the till does not load the card
module until somebody scans a card.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.throttle import (
    ThrottlePolicy,
    locked_until,
    record_failure,
    retry_after,
    seconds_locked,
)
from backend.config import Settings
from backend.ledger.models import Account
from backend.ledger.service import find_account
from backend.till.codes import format_short_code, normalise_short_code
from backend.till.context import Till
from backend.till.errors import (
    ScanExpired,
    ScanTampered,
    ScanUnreadable,
    ScanUsed,
    ShortCodeUnknown,
    TooManyAttempts,
)
from backend.till.models import WalletToken
from backend.till.tokens import CARD_PREFIX, CLAIM_PREFIX, WALLET_PREFIX, WALLET_TYP, verify
from backend.wallets.models import Shopper

_CARD_NUMBER = re.compile(r"^\d{13}$")
_CARD_SEPARATORS = re.compile(r"[\s-]")
WALLET_FALLBACK_NAME = "Spaarder"


@dataclass(frozen=True, slots=True)
class Scanned:
    kind: Literal["wallet", "card"]
    shopper_id: int
    display: str
    wallet_token: WalletToken | None = None
    card: Any | None = None  # backend.cards.models.Card

    @property
    def card_last4(self) -> str | None:
        return self.card.number[-4:] if self.card is not None else None


def card_display(number: str) -> str:
    return f"Kaart ••••{number[-4:]}"


async def resolve_scan(
    session: AsyncSession,
    *,
    tenant_id: int,
    scan: str,
    settings: Settings,
    now: datetime,
    till: Till,
) -> Scanned:
    """What ``scan`` stands for; ``till`` is who typed it, for the short-code limits."""
    text = scan.strip()
    prefix = text[:5].upper()
    if prefix == WALLET_PREFIX:
        token = await _wallet_token_from_qr(
            session, tenant_id=tenant_id, token=text[5:], settings=settings, now=now
        )
        return await _wallet_scan(session, tenant_id=tenant_id, token=token)
    if prefix == CARD_PREFIX:
        return await _card_scan(session, tenant_id=tenant_id, number=text[5:].strip(), now=now)
    if prefix == CLAIM_PREFIX:
        raise ScanUnreadable(
            "This is a shop's claim code: the shopper scans it with the Kernpunt app."
        )
    digits = _CARD_SEPARATORS.sub("", text)
    if _CARD_NUMBER.match(digits):
        return await _card_scan(session, tenant_id=tenant_id, number=digits, now=now)
    short_code = normalise_short_code(text)
    if short_code is not None:
        token = await _wallet_token_from_short_code(
            session, tenant_id=tenant_id, short_code=short_code, now=now, till=till
        )
        return await _wallet_scan(session, tenant_id=tenant_id, token=token)
    raise ScanUnreadable(
        "Scan the QR code on the shopper's phone or card, or type the 8-character code under it."
    )


async def _wallet_token_from_qr(
    session: AsyncSession, *, tenant_id: int, token: str, settings: Settings, now: datetime
) -> WalletToken:
    claims = verify(settings, token, typ=WALLET_TYP, tenant_id=tenant_id, now=now)
    row = (
        await session.execute(
            select(WalletToken).where(
                WalletToken.jti == claims["jti"], WalletToken.tenant_id == tenant_id
            )
        )
    ).scalar_one_or_none()
    if row is None:
        # Signed by us and unexpired, yet no row: it was cleaned up, so it is old.
        raise ScanExpired("This code is no longer valid; ask the shopper to show a fresh one.")
    if row.shopper_id != claims.get("sid"):
        raise ScanTampered()
    if row.expires_at <= now:
        raise ScanExpired()
    return row


# A short code is 40 random bits alive for a minute, so guessing one is hopeless; the
# limits make sure of it without getting in a cashier's way (a typo costs one attempt,
# an expired code none). Counted per till key or user and, so that many keys or staff
# cannot add up, per shop. A lock refuses known codes too: a guesser must learn nothing.
SHORT_CODE_PER_TYPIST = ThrottlePolicy(
    max_failures=10, window=timedelta(minutes=10), lockout=timedelta(minutes=10)
)
SHORT_CODE_PER_SHOP = ThrottlePolicy(
    max_failures=30, window=timedelta(minutes=10), lockout=timedelta(minutes=10)
)


def short_code_limits(till: Till) -> list[tuple[str, ThrottlePolicy]]:
    """The throttle subjects a short code typed at ``till`` counts against."""
    if till.pos_key_id is not None:
        typist = f"short_code:key:{till.pos_key_id}"
    else:
        typist = f"short_code:user:{till.user_id}"
    return [(typist, SHORT_CODE_PER_TYPIST), (f"short_code:merchant:{till.merchant_id}", SHORT_CODE_PER_SHOP)]


async def _count_failed_short_code(
    session: AsyncSession, *, tenant_id: int, limits: list[tuple[str, ThrottlePolicy]], now: datetime
) -> None:
    # Always typist before shop: two failures at once lock their rows in the same order.
    for subject, policy in limits:
        await record_failure(session, tenant_id=tenant_id, subject=subject, policy=policy, now=now)


def _too_many(wait: int) -> TooManyAttempts:
    return TooManyAttempts(
        f"Too many unknown codes were typed here; scan the QR code, or type again in {wait} seconds.",
        retry_after=wait,
    )


async def _wallet_token_from_short_code(
    session: AsyncSession, *, tenant_id: int, short_code: str, now: datetime, till: Till
) -> WalletToken:
    limits = short_code_limits(till)
    subjects = [subject for subject, _ in limits]
    # The lock is asked in the lookup's own statement: a right code costs no extra query.
    found = (
        await session.execute(
            select(WalletToken, locked_until(tenant_id=tenant_id, subjects=subjects, now=now)).where(
                WalletToken.tenant_id == tenant_id, WalletToken.short_code == short_code
            )
        )
    ).first()
    if found is None:
        wait = await seconds_locked(session, tenant_id=tenant_id, subjects=subjects, now=now)
        if wait is not None:
            raise _too_many(wait)
        raise ShortCodeUnknown(
            f"No wallet code {format_short_code(short_code)}; check the code on the phone."
        ).with_memory(partial(_count_failed_short_code, tenant_id=tenant_id, limits=limits, now=now))
    row, lock_ends = found
    if lock_ends is not None:
        raise _too_many(retry_after(lock_ends, now))
    if row.expires_at <= now:
        raise ScanExpired(f"Code {format_short_code(short_code)} has expired; ask for a fresh one.")
    return row


async def _wallet_scan(session: AsyncSession, *, tenant_id: int, token: WalletToken) -> Scanned:
    shopper = await _live_shopper(session, tenant_id=tenant_id, shopper_id=token.shopper_id)
    return Scanned(
        kind="wallet",
        shopper_id=shopper.id,  # type: ignore[arg-type]
        display=shopper.first_name or WALLET_FALLBACK_NAME,
        wallet_token=token,
    )


async def _card_scan(
    session: AsyncSession, *, tenant_id: int, number: str, now: datetime
) -> Scanned:
    if not _CARD_NUMBER.match(number):
        raise ScanUnreadable("A card number has 13 digits.")
    from backend.cards import service as cards

    card = await cards.find_card_for_scan(session, tenant_id=tenant_id, number=number)
    await _live_shopper(session, tenant_id=tenant_id, shopper_id=card.shopper_id)
    return Scanned(
        kind="card", shopper_id=card.shopper_id, display=card_display(card.number), card=card
    )


async def _live_shopper(session: AsyncSession, *, tenant_id: int, shopper_id: int) -> Shopper:
    shopper = await session.get(Shopper, shopper_id)
    if shopper is None or shopper.tenant_id != tenant_id or shopper.deleted_at is not None:
        raise ScanUnreadable("This wallet has been closed.")
    return shopper


async def check_card_pin(
    session: AsyncSession, *, scanned: Scanned, pin: str | None, now: datetime
) -> None:
    """Spending with a card needs its PIN; a phone proves itself by its fresh token."""
    if scanned.card is None:
        return
    from backend.cards import service as cards

    await cards.check_card_pin(session, card=scanned.card, pin=pin, now=now)


def ensure_token_unspent(scanned: Scanned) -> None:
    token = scanned.wallet_token
    if token is not None and token.spent_at is not None:
        raise ScanUsed()


async def mark_token_spent(session: AsyncSession, *, token: WalletToken, now: datetime) -> None:
    """Single use for spending: of two tills racing with one screenshot, one wins."""
    t = WalletToken.__table__
    won = (
        await session.execute(
            update(t)
            .where(t.c.id == token.id, t.c.spent_at.is_(None))
            .values(spent_at=now)
            .returning(t.c.id)
        )
    ).first()
    if won is None:
        raise ScanUsed()


async def wallet_account(session: AsyncSession, *, tenant_id: int, shopper_id: int) -> Account:
    return await find_account(session, tenant_id=tenant_id, code=f"shopper:{shopper_id}:wallet")
