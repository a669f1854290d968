"""Claim codes: a shop without a scanner shows a QR for one purchase; a shopper scans it.

The code is a signed ``KPK1:`` token naming a ``claim_code`` row. Claiming it is a
conditional UPDATE (``claimed_at IS NULL AND expires_at > now``) in the same
transaction as the earn, so exactly one shopper gets the points, once. The earn itself
follows the same rule as at the till, daily cap included, credited by the shop's float.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.core.errors import IdempotencyKeyReused
from backend.core.idempotency import request_fingerprint
from backend.ledger.transfers import PostedTransfer, find_by_key
from backend.till.context import Till, till_for_merchant
from backend.till.earn import post_earn
from backend.till.errors import (
    ClaimExpired,
    ClaimNotFound,
    ClaimUsed,
    ScanExpired,
    ScanTampered,
    ScanUnreadable,
)
from backend.till.models import ClaimCode
from backend.till.rules import earn_points, rate_for
from backend.till.scan import wallet_account
from backend.till.tokens import CLAIM_PREFIX, CLAIM_TYP, new_jti, qr_svg, sign, verify

claim_table = ClaimCode.__table__


@dataclass(frozen=True, slots=True)
class IssuedClaim:
    row: ClaimCode
    qr_text: str
    qr_svg: str
    replayed: bool


def claim_qr_text(settings: Settings, row: ClaimCode) -> str:
    # HS256 over the same claims gives the same token: a replay shows the same QR.
    return CLAIM_PREFIX + sign(
        settings,
        {
            "typ": CLAIM_TYP,
            "tid": row.tenant_id,
            "jti": row.jti,
            "exp": int(row.expires_at.timestamp()),
        },
    )


def _issued(settings: Settings, row: ClaimCode, *, replayed: bool) -> IssuedClaim:
    text = claim_qr_text(settings, row)
    return IssuedClaim(
        row=row,
        qr_text=text,
        qr_svg=qr_svg(text, title=f"Kernpunt claim code, {row.points} points"),
        replayed=replayed,
    )


async def _by_key(session: AsyncSession, *, tenant_id: int, key: str) -> ClaimCode | None:
    return (
        await session.execute(
            select(ClaimCode).where(
                ClaimCode.tenant_id == tenant_id, ClaimCode.idempotency_key == key
            )
        )
    ).scalar_one_or_none()


def _check_same(row: ClaimCode, fingerprint: str) -> None:
    if row.request_hash != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different request; use a new key.",
            claim_id=row.id,
        )


async def create_claim(
    session: AsyncSession,
    *,
    till: Till,
    purchase_cents: int,
    idempotency_key: str,
    settings: Settings,
    now: datetime,
) -> IssuedClaim:
    tenant_id: int = till.tenant.id  # type: ignore[assignment]
    key = till.key("claim", idempotency_key)
    fingerprint = request_fingerprint("till:claim", {"purchase_cents": purchase_cents})
    existing = await _by_key(session, tenant_id=tenant_id, key=key)
    if existing is not None:
        _check_same(existing, fingerprint)
        return _issued(settings, existing, replayed=True)
    points, _rate = earn_points(till.tenant, till.merchant, purchase_cents)
    row = ClaimCode(
        tenant_id=tenant_id,
        merchant_id=till.merchant_id,
        jti=new_jti(),
        idempotency_key=key,
        request_hash=fingerprint,
        purchase_cents=purchase_cents,
        points=points,
        created_by_user_id=till.user_id,
        expires_at=now.replace(microsecond=0)
        + timedelta(seconds=till.tenant.claim_code_ttl_seconds),
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        # A concurrent request with the same key won; answer as its replay.
        existing = await _by_key(session, tenant_id=tenant_id, key=key)
        if existing is None:
            raise
        _check_same(existing, fingerprint)
        return _issued(settings, existing, replayed=True)
    return _issued(settings, row, replayed=False)


def claim_status(row: ClaimCode, *, now: datetime) -> Literal["open", "claimed", "expired"]:
    if row.claimed_at is not None:
        return "claimed"
    return "expired" if row.expires_at <= now else "open"


async def get_claim(session: AsyncSession, *, till: Till, claim_id: int) -> ClaimCode:
    row = await session.get(ClaimCode, claim_id, populate_existing=True)
    if row is None or row.tenant_id != till.tenant.id or row.merchant_id != till.merchant_id:
        raise ClaimNotFound(f"Claim code {claim_id} does not exist at this shop.")
    return row


@dataclass(frozen=True, slots=True)
class Claimed:
    transfer: PostedTransfer
    merchant_name: str


async def claim(
    session: AsyncSession,
    *,
    tenant_id: int,
    shopper_id: int,
    qr_text: str,
    idempotency_key: str,
    settings: Settings,
    now: datetime,
) -> Claimed:
    """The shopper's side: earn the points of a claim code, once."""
    key = f"me:claim:{shopper_id}:{idempotency_key}"
    fingerprint = request_fingerprint("me:claim", {"qr_text": qr_text})
    replay = await _claimed_replay(session, tenant_id=tenant_id, key=key, fingerprint=fingerprint)
    if replay is not None:
        return replay
    text = qr_text.strip()
    if text[:5].upper() != CLAIM_PREFIX:
        raise ScanUnreadable("This is not a shop's Kernpunt claim code.")
    try:
        claims = verify(settings, text[5:], typ=CLAIM_TYP, tenant_id=tenant_id, now=now)
    except ScanExpired as exc:
        raise ClaimExpired() from exc
    row = (
        await session.execute(
            select(ClaimCode).where(
                ClaimCode.jti == claims["jti"], ClaimCode.tenant_id == tenant_id
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise ScanTampered()
    won = (
        await session.execute(
            update(claim_table)
            .where(
                claim_table.c.id == row.id,
                claim_table.c.claimed_at.is_(None),
                claim_table.c.expires_at > now,
            )
            .values(claimed_at=now, claimed_by_shopper_id=shopper_id)
            .returning(claim_table.c.id)
        )
    ).first()
    if won is None:
        # The same request may have won a moment ago on another connection.
        replay = await _claimed_replay(
            session, tenant_id=tenant_id, key=key, fingerprint=fingerprint
        )
        if replay is not None:
            return replay
        if row.expires_at <= now:
            raise ClaimExpired()
        raise ClaimUsed("This claim code was already used; ask the shop for a new one.")
    till = await till_for_merchant(session, tenant_id=tenant_id, merchant_id=row.merchant_id)
    wallet = await wallet_account(session, tenant_id=tenant_id, shopper_id=shopper_id)
    rate = rate_for(till.tenant, till.merchant)
    transfer = await post_earn(
        session,
        till=till,
        wallet=wallet,
        purchase_cents=row.purchase_cents,
        points=row.points,  # what the shop's screen promised
        rate=rate,
        idempotency_key=key,
        fingerprint=fingerprint,
        meta={"claim_id": row.id, "cashier_user_id": row.created_by_user_id},
        now=now,
    )
    await session.execute(
        update(claim_table).where(claim_table.c.id == row.id).values(transfer_id=transfer.id)
    )
    return Claimed(transfer=transfer, merchant_name=till.merchant.name)


async def _claimed_replay(
    session: AsyncSession, *, tenant_id: int, key: str, fingerprint: str
) -> Claimed | None:
    existing = await find_by_key(session, tenant_id=tenant_id, idempotency_key=key)
    if existing is None:
        return None
    if existing.request_hash != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different request; use a new key.",
            transfer_id=existing.id,
        )
    from backend.merchants.models import Merchant

    merchant = await session.get(Merchant, existing.meta.get("merchant_id"))
    return Claimed(transfer=existing, merchant_name=merchant.name if merchant else "")
