"""Spending points at the till: a hold on the wallet, then captured or voided.

A phone token pays once: the hold and the token's ``spent_at`` are written in the same
transaction, the token through a conditional UPDATE, so two tills racing with one
screenshot get one hold between them. A card pays with its PIN instead. The PIN never
enters the idempotency fingerprint (a hash of a 4-digit PIN and a printed card number
would give the PIN away).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.core.errors import IdempotencyKeyReused
from backend.core.idempotency import request_fingerprint
from backend.ledger.errors import HoldNotFound
from backend.ledger.models import Hold
from backend.ledger.service import capture_hold, create_hold, get_hold, void_hold
from backend.ledger.transfers import PostedTransfer
from backend.till.context import Till
from backend.till.errors import AmountInvalid, RedemptionNotFound
from backend.till.scan import (
    check_card_pin,
    ensure_token_unspent,
    mark_token_spent,
    resolve_scan,
    wallet_account,
)

REDEEM_KIND = "redeem"


def points_for_discount(discount_cents: int, point_value_cents: int) -> int:
    """Whole points worth at most ``discount_cents``: the discount never exceeds what was asked."""
    return discount_cents // point_value_cents


async def _hold_by_key(session: AsyncSession, *, tenant_id: int, key: str) -> Hold | None:
    return (
        await session.execute(
            select(Hold).where(Hold.tenant_id == tenant_id, Hold.idempotency_key == key)
        )
    ).scalar_one_or_none()


async def redeem(
    session: AsyncSession,
    *,
    till: Till,
    scan: str,
    points: int | None,
    discount_cents: int | None,
    pin: str | None,
    idempotency_key: str,
    settings: Settings,
    now: datetime,
) -> tuple[Hold, bool]:
    """Reserve points for a discount; returns the hold and whether this was a replay."""
    tenant_id: int = till.tenant.id  # type: ignore[assignment]
    key = till.key("redeem", idempotency_key)
    fingerprint = request_fingerprint(
        "till:redeem", {"scan": scan, "points": points, "discount_cents": discount_cents}
    )
    existing = await _hold_by_key(session, tenant_id=tenant_id, key=key)
    if existing is not None:
        if existing.request_hash != fingerprint:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used for a different request; use a new key.",
                hold_id=existing.id,
            )
        return existing, True
    scanned = await resolve_scan(
        session, tenant_id=tenant_id, scan=scan, settings=settings, now=now, till=till
    )
    ensure_token_unspent(scanned)
    await check_card_pin(session, scanned=scanned, pin=pin, now=now)
    point_value = till.tenant.point_value_cents
    if points is None:
        points = points_for_discount(discount_cents or 0, point_value)
        if points < 1:
            raise AmountInvalid(
                f"One point is worth {point_value} cents; {discount_cents} cents buys no point."
            )
    wallet = await wallet_account(session, tenant_id=tenant_id, shopper_id=scanned.shopper_id)
    meta: dict[str, Any] = {
        "merchant_id": till.merchant_id,
        "discount_cents": points * point_value,
        **till.actor_meta(),
    }
    if scanned.card is not None:
        meta["card_id"] = scanned.card.id
    if scanned.wallet_token is not None:
        meta["wallet_token_id"] = scanned.wallet_token.id
    hold, replayed = await create_hold(
        session,
        tenant_id=tenant_id,
        idempotency_key=key,
        kind=REDEEM_KIND,
        debit_account_id=wallet.id,  # type: ignore[arg-type]
        credit_account_id=till.redeemed_account_id,
        amount=points,
        timeout_seconds=till.tenant.hold_timeout_seconds,
        description=f"Spent at {till.merchant.name}",
        meta=meta,
        created_by_user_id=till.user_id,
        fingerprint=fingerprint,
        now=now,
    )
    if not replayed and scanned.wallet_token is not None:
        await mark_token_spent(session, token=scanned.wallet_token, now=now)
    return hold, replayed


async def own_hold(session: AsyncSession, *, till: Till, hold_id: int) -> Hold:
    try:
        hold = await get_hold(session, tenant_id=till.tenant.id, hold_id=hold_id)  # type: ignore[arg-type]
    except HoldNotFound as exc:
        raise RedemptionNotFound(f"Redemption {hold_id} does not exist at this shop.") from exc
    if hold.kind != REDEEM_KIND or hold.credit_account_id != till.redeemed_account_id:
        raise RedemptionNotFound(f"Redemption {hold_id} does not exist at this shop.")
    return hold


async def capture(
    session: AsyncSession, *, till: Till, hold_id: int, idempotency_key: str, now: datetime
) -> PostedTransfer:
    await own_hold(session, till=till, hold_id=hold_id)
    return await capture_hold(
        session,
        tenant_id=till.tenant.id,  # type: ignore[arg-type]
        hold_id=hold_id,
        idempotency_key=till.key("capture", idempotency_key),
        created_by_user_id=till.user_id,
        now=now,
    )


async def void(session: AsyncSession, *, till: Till, hold_id: int, now: datetime) -> Hold:
    await own_hold(session, till=till, hold_id=hold_id)
    return await void_hold(session, tenant_id=till.tenant.id, hold_id=hold_id, now=now)  # type: ignore[arg-type]
