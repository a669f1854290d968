"""Undo and refund of an earn at the till, and the campaign bonuses that came with it.

What a cashier with a queue needs: the shop's own points come back when the wallet still
holds them, and otherwise a clear refusal (the shopper already spent them; the sale
itself is not affected). The municipality's bonus then comes back as far as the wallet
still holds points; what the shopper already spent is not taken (a wallet never goes
below zero) but recorded on the earn reversal, so the campaign's figures show it and the
answer tells the cashier. A retry with the same Idempotency-Key reads that record back:
the same answer, nothing posted twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.campaigns.reversal import (
    BonusReversal,
    plan_bonus_reversals,
    plan_meta,
    recorded_bonus_reversals,
    reverse_campaign_bonuses,
)
from backend.core.errors import IdempotencyKeyReused
from backend.ledger.errors import InsufficientFunds
from backend.ledger.service import get_balances, reverse_transfer
from backend.ledger.transfers import PostedTransfer, find_by_key
from backend.till.context import Till
from backend.till.earn import own_earn, undo_until
from backend.till.errors import RefundExceedsPurchase, RefundTooSmall, UndoWindowPassed
from backend.till.rules import lock_wallet, points_for


@dataclass(frozen=True, slots=True)
class EarnReversal:
    transfer: PostedTransfer  # the reversal of the shop's own points
    bonuses: list[BonusReversal]

    @property
    def bonus_points(self) -> int:
        return sum(b.taken_back for b in self.bonuses)

    @property
    def bonus_points_kept(self) -> int:
        return sum(b.kept for b in self.bonuses)


async def _replay(
    session: AsyncSession, *, till: Till, key: str, original: PostedTransfer, refund_cents: int | None
) -> EarnReversal | None:
    tenant_id: int = till.tenant.id  # type: ignore[assignment]
    existing = await find_by_key(session, tenant_id=tenant_id, idempotency_key=key)
    if existing is None:
        return None
    # Compared on the request, not on the posted meta: that also records the wallet's state.
    if existing.reverses_transfer_id != original.id or existing.meta.get("refund_cents") != refund_cents:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different request; use a new key.",
            transfer_id=existing.id,
        )
    return EarnReversal(existing, await recorded_bonus_reversals(session, tenant_id=tenant_id, earn_reversal=existing))


async def _reverse(
    session: AsyncSession,
    *,
    till: Till,
    original: PostedTransfer,
    key: str,
    points: int,
    partial: bool,
    description: str,
    meta: dict[str, Any],
    now: datetime,
) -> EarnReversal:
    tenant_id: int = till.tenant.id  # type: ignore[assignment]
    wallet_id = original.credit_account_id
    # Held until commit, so what the wallet holds now is what the reversals below will find.
    await lock_wallet(session, wallet_account_id=wallet_id)
    available = (await get_balances(session, tenant_id=tenant_id, account_ids=[wallet_id], now=now))[wallet_id].available
    planned = await plan_bonus_reversals(
        session, tenant_id=tenant_id, earn_transfer_id=original.id, earned=original.amount,
        taken_back=points, wallet_left=available - points,
    )
    try:
        reversal = await reverse_transfer(
            session,
            tenant_id=tenant_id,
            transfer_id=original.id,
            idempotency_key=key,
            amount=points if partial else None,
            description=description,
            meta={**meta, **plan_meta(planned)},
            created_by_user_id=till.user_id,
            now=now,
        )
    except InsufficientFunds as exc:
        if exc.extra.get("account_id") != wallet_id:
            raise
        left = exc.extra.get("available", available)
        raise InsufficientFunds(
            f"The shopper has {left} points left and this takes back {points}: they were already spent, "
            "so the points cannot be taken back. The sale itself is not affected.",
            account_id=wallet_id,
            available=left,
            requested=points,
        ) from exc
    await reverse_campaign_bonuses(
        session,
        tenant_id=tenant_id,
        earn_transfer_id=original.id,
        planned=planned,
        idempotency_key=key,
        created_by_user_id=till.user_id,
        now=now,
    )
    # Read back like a retry would, so the first answer and a replayed one are the same.
    return EarnReversal(reversal, await recorded_bonus_reversals(session, tenant_id=tenant_id, earn_reversal=reversal))


async def undo_earn(
    session: AsyncSession, *, till: Till, transfer_id: int, idempotency_key: str, now: datetime
) -> EarnReversal:
    key = till.key("undo", idempotency_key)
    original = await own_earn(session, till=till, transfer_id=transfer_id)
    # A retry of an undo that succeeded in time is answered even after the window closed.
    replay = await _replay(session, till=till, key=key, original=original, refund_cents=None)
    if replay is not None:
        return replay
    if now > undo_until(till, original):
        raise UndoWindowPassed(
            f"Earns can be undone for {till.tenant.undo_window_seconds // 60} minutes; refund this one instead.",
            undo_until=undo_until(till, original).isoformat(),
        )
    return await _reverse(
        session,
        till=till,
        original=original,
        key=key,
        points=original.amount,
        partial=False,
        description=f"Undo of earn {transfer_id}",
        meta={"till": "undo", "merchant_id": till.merchant_id, **till.actor_meta()},
        now=now,
    )


async def refund_earn(
    session: AsyncSession,
    *,
    till: Till,
    transfer_id: int,
    refund_cents: int,
    idempotency_key: str,
    now: datetime,
) -> EarnReversal:
    """Take back the points of the refunded part of a purchase, at the rate it earned."""
    key = till.key("refund", idempotency_key)
    original = await own_earn(session, till=till, transfer_id=transfer_id)
    purchase_cents = int(original.meta.get("purchase_cents", 0))
    if refund_cents > purchase_cents:
        raise RefundExceedsPurchase(
            f"The purchase was {purchase_cents} cents; {refund_cents} cannot be refunded.",
            purchase_cents=purchase_cents,
        )
    # A capped earn credited fewer points than the rate gives; never take back more.
    points = min(points_for(refund_cents, int(original.meta.get("rate", 0))), original.amount)
    if points < 1:
        raise RefundTooSmall(f"A refund of {refund_cents} cents takes back no points.")
    replay = await _replay(session, till=till, key=key, original=original, refund_cents=refund_cents)
    if replay is not None:
        return replay
    return await _reverse(
        session,
        till=till,
        original=original,
        key=key,
        points=points,
        partial=True,
        description=f"Refund of {refund_cents} cents on earn {transfer_id}",
        meta={"till": "refund", "refund_cents": refund_cents, "merchant_id": till.merchant_id, **till.actor_meta()},
        now=now,
    )
