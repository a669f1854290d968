"""Earning at the till: identify a shopper, credit points (undo and refund: ``reversals.py``).

Every write first looks for an earlier request with the same Idempotency-Key: a retry
returns the original result even when the scanned token has expired meanwhile or the
undo window has closed since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from backend.campaigns.bonus import apply_campaign_bonuses
from backend.config import Settings
from backend.core.errors import IdempotencyKeyReused
from backend.core.idempotency import request_fingerprint
from backend.ledger.errors import InsufficientFunds, TransferNotFound
from backend.ledger.models import Account
from backend.ledger.service import get_balances, get_transfer
from backend.ledger.transfers import PostedTransfer, find_by_key, post_transfer
from backend.till.context import Till
from backend.till.errors import EarnNotFound, FloatExhausted
from backend.till.rules import EARN_KIND, apply_daily_cap, earn_points
from backend.till.scan import (
    WALLET_FALLBACK_NAME,
    Scanned,
    card_display,
    ensure_token_unspent,
    resolve_scan,
    wallet_account,
)
from backend.wallets.models import Shopper


@dataclass(frozen=True, slots=True)
class Identified:
    scanned: Scanned
    needs_pin: bool
    available_points: int | None


async def identify(
    session: AsyncSession,
    *,
    till: Till,
    scan: str,
    purpose: Literal["earn", "spend"],
    settings: Settings,
    now: datetime,
) -> Identified:
    scanned = await resolve_scan(
        session, tenant_id=till.tenant.id, scan=scan, settings=settings, now=now, till=till
    )  # type: ignore[arg-type]
    if purpose == "earn":
        return Identified(scanned=scanned, needs_pin=False, available_points=None)
    ensure_token_unspent(scanned)
    wallet = await wallet_account(session, tenant_id=till.tenant.id, shopper_id=scanned.shopper_id)  # type: ignore[arg-type]
    balance = (
        await get_balances(session, tenant_id=till.tenant.id, account_ids=[wallet.id], now=now)
    )[wallet.id]  # type: ignore[arg-type,list-item]
    return Identified(
        scanned=scanned, needs_pin=scanned.kind == "card", available_points=balance.available
    )


async def post_earn(
    session: AsyncSession,
    *,
    till: Till,
    wallet: Account,
    purchase_cents: int,
    points: int,
    rate: int,
    idempotency_key: str,
    fingerprint: str,
    meta: dict[str, Any],
    now: datetime,
) -> PostedTransfer:
    """One ``earn`` transfer float -> wallet under the daily cap; shared by till and claim codes."""
    points, capped = await apply_daily_cap(
        session,
        tenant=till.tenant,
        float_account_id=till.float_account_id,
        wallet_account_id=wallet.id,  # type: ignore[arg-type]
        points=points,
        now=now,
    )
    try:
        transfer = await post_transfer(
            session,
            tenant_id=till.tenant.id,  # type: ignore[arg-type]
            idempotency_key=idempotency_key,
            kind=EARN_KIND,
            debit_account_id=till.float_account_id,
            credit_account_id=wallet.id,  # type: ignore[arg-type]
            amount=points,
            meta={
                "purchase_cents": purchase_cents,
                "merchant_id": till.merchant_id,
                "rate": rate,
                "capped": capped,
                **till.actor_meta(),
                **meta,
            },
            created_by_user_id=till.user_id,
            fingerprint=fingerprint,
            now=now,
        )
    except InsufficientFunds as exc:
        if exc.extra.get("account_id") != till.float_account_id:
            raise
        raise FloatExhausted(
            f"{till.merchant.name} has no points left to give ({exc.extra.get('available', 0)} available, "
            f"{points} needed). The owner can top up the float; the sale itself is not affected.",
            available=exc.extra.get("available", 0),
            requested=points,
        ) from exc
    if not transfer.replayed:
        # Campaign bonuses: separate transfers from their budgets, same transaction.
        await apply_campaign_bonuses(
            session,
            tenant=till.tenant,
            merchant=till.merchant,
            shopper_id=wallet.shopper_id,  # type: ignore[arg-type]
            wallet_account_id=wallet.id,  # type: ignore[arg-type]
            earn_points=points,
            earn_transfer_id=transfer.id,
            purchase_cents=purchase_cents,
            now=now,
            idempotency_key=idempotency_key,
        )
    return transfer


def _replay(existing: PostedTransfer | None, fingerprint: str) -> PostedTransfer | None:
    if existing is not None and existing.request_hash != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different request; use a new key.",
            transfer_id=existing.id,
        )
    return existing


async def earn(
    session: AsyncSession,
    *,
    till: Till,
    scan: str,
    purchase_cents: int,
    idempotency_key: str,
    settings: Settings,
    now: datetime,
) -> PostedTransfer:
    key = till.key("earn", idempotency_key)
    fingerprint = request_fingerprint("till:earn", {"scan": scan, "purchase_cents": purchase_cents})
    tenant_id: int = till.tenant.id  # type: ignore[assignment]
    replay = _replay(
        await find_by_key(session, tenant_id=tenant_id, idempotency_key=key), fingerprint
    )
    if replay is not None:
        return replay
    scanned = await resolve_scan(
        session, tenant_id=tenant_id, scan=scan, settings=settings, now=now, till=till
    )
    points, rate = earn_points(till.tenant, till.merchant, purchase_cents)
    wallet = await wallet_account(session, tenant_id=tenant_id, shopper_id=scanned.shopper_id)
    meta: dict[str, Any] = {"card_id": scanned.card.id} if scanned.card is not None else {}
    return await post_earn(
        session,
        till=till,
        wallet=wallet,
        purchase_cents=purchase_cents,
        points=points,
        rate=rate,
        idempotency_key=key,
        fingerprint=fingerprint,
        meta=meta,
        now=now,
    )


def undo_until(till: Till, transfer: PostedTransfer) -> datetime:
    return transfer.created_at + timedelta(seconds=till.tenant.undo_window_seconds)


async def shopper_display(
    session: AsyncSession, *, wallet_account_id: int, meta: dict[str, Any]
) -> str:
    """What the cashier's screen shows for the shopper behind a transfer or hold."""
    card_id = meta.get("card_id")
    if card_id is not None:
        from backend.cards.models import Card

        card = await session.get(Card, card_id)
        if card is not None:
            return card_display(card.number)
    account = await session.get(Account, wallet_account_id)
    shopper = (
        await session.get(Shopper, account.shopper_id) if account and account.shopper_id else None
    )
    if shopper is None or shopper.deleted_at is not None:
        return WALLET_FALLBACK_NAME
    return shopper.first_name or WALLET_FALLBACK_NAME


async def own_earn(session: AsyncSession, *, till: Till, transfer_id: int) -> PostedTransfer:
    try:
        transfer = await get_transfer(session, tenant_id=till.tenant.id, transfer_id=transfer_id)  # type: ignore[arg-type]
    except TransferNotFound as exc:
        raise EarnNotFound(f"Transfer {transfer_id} is not an earn at this shop.") from exc
    # Another shop's earn is a 404, not a 403: a till cannot probe other shops' sales.
    if transfer.kind != EARN_KIND or transfer.debit_account_id != till.float_account_id:
        raise EarnNotFound(f"Transfer {transfer_id} is not an earn at this shop.")
    return transfer
