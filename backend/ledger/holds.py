"""Two-phase transfers: a hold reserves points, then is captured or voided exactly once.

The hold row moves from ``pending`` to ``captured``, ``voided`` or ``expired`` through a
conditional UPDATE (``WHERE status = 'pending'``), so of two racing resolutions exactly
one wins. An expired hold's points are available again even before the sweeper marks
it: readers and the debit slow path both treat an overdue hold as expired.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.errors import IdempotencyKeyReused
from backend.core.idempotency import request_fingerprint
from backend.core.types import utcnow
from backend.ledger import balances
from backend.ledger.accounts import HOLD_KINDS, account_metas, check_flow
from backend.ledger.errors import (
    CaptureExceedsHold,
    FlowNotAllowed,
    HoldAlreadyResolved,
    HoldExpired,
    HoldNotFound,
)
from backend.ledger.models import Hold, HoldStatus
from backend.ledger.transfers import PostedTransfer, find_by_key, post_transfer, validate_amount

hold_table = Hold.__table__

MAX_HOLD_SECONDS = 24 * 3600


def _insert_hold_stmt(dialect_name: str) -> Any:
    module = postgresql if dialect_name == "postgresql" else sqlite
    return (
        module.insert(hold_table)
        .on_conflict_do_nothing(index_elements=["tenant_id", "idempotency_key"])
        .returning(hold_table.c.id)
    )


_INSERT_HOLD = {name: _insert_hold_stmt(name) for name in ("postgresql", "sqlite")}
_resolve_stmt = (
    update(hold_table)
    .where(
        hold_table.c.id == bindparam("hid"),
        hold_table.c.tenant_id == bindparam("tid"),
        hold_table.c.status == HoldStatus.PENDING.value,
        hold_table.c.expires_at > bindparam("now"),
    )
    .values(status=bindparam("new_status"), captured_amount=bindparam("captured"), resolved_at=bindparam("now"))
    .returning(hold_table.c.id)
)


async def _load(session: AsyncSession, *, tenant_id: int, hold_id: int) -> Hold:
    hold = (
        await session.execute(
            select(Hold).where(Hold.id == hold_id, Hold.tenant_id == tenant_id).execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if hold is None:
        raise HoldNotFound(f"Hold {hold_id} does not exist in this municipality.")
    return hold


async def get_hold(session: AsyncSession, *, tenant_id: int, hold_id: int) -> Hold:
    return await _load(session, tenant_id=tenant_id, hold_id=hold_id)


def effective_status(hold: Hold, *, now: datetime) -> str:
    if hold.status == HoldStatus.PENDING and hold.expires_at <= now:
        return HoldStatus.EXPIRED.value
    return hold.status


async def create_hold(
    session: AsyncSession,
    *,
    tenant_id: int,
    idempotency_key: str,
    kind: str,
    debit_account_id: int,
    credit_account_id: int,
    amount: int,
    timeout_seconds: int,
    description: str | None = None,
    meta: dict[str, Any] | None = None,
    created_by_user_id: int | None = None,
    fingerprint: str | None = None,
    now: datetime | None = None,
) -> tuple[Hold, bool]:
    """Reserve points; returns the hold and whether it was a replay of an earlier request."""
    validate_amount(amount)
    if kind not in HOLD_KINDS:
        raise FlowNotAllowed(f"Holds are for {', '.join(sorted(HOLD_KINDS))}, not {kind!r}.")
    if not 1 <= timeout_seconds <= MAX_HOLD_SECONDS:
        raise FlowNotAllowed(f"A hold lasts between 1 second and {MAX_HOLD_SECONDS} seconds.")
    meta = meta or {}
    fingerprint = fingerprint or request_fingerprint(
        f"hold:{kind}",
        {
            "debit": debit_account_id,
            "credit": credit_account_id,
            "amount": amount,
            "timeout": timeout_seconds,
            "description": description,
            "meta": meta,
        },
    )
    metas = await account_metas(session, tenant_id=tenant_id, account_ids=(debit_account_id, credit_account_id))
    check_flow(kind, metas[debit_account_id], metas[credit_account_id])
    now = now or utcnow()
    new_id = (
        await session.execute(
            _INSERT_HOLD[session.bind.dialect.name],
            {
                "tenant_id": tenant_id,
                "idempotency_key": idempotency_key,
                "request_hash": fingerprint,
                "kind": kind,
                "debit_account_id": debit_account_id,
                "credit_account_id": credit_account_id,
                "slot": 0,
                "amount": amount,
                "status": HoldStatus.PENDING.value,
                "expires_at": now + timedelta(seconds=timeout_seconds),
                "description": description,
                "meta": meta,
                "created_by_user_id": created_by_user_id,
                "created_at": now,
            },
        )
    ).scalar()
    if new_id is None:
        existing = (
            await session.execute(
                select(Hold).where(Hold.tenant_id == tenant_id, Hold.idempotency_key == idempotency_key)
            )
        ).scalar_one()
        if existing.request_hash != fingerprint:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used for a different request; use a new key.", hold_id=existing.id
            )
        return existing, True
    slot = await balances.reserve(session, metas[debit_account_id], amount, now=now)
    if slot != 0:
        await session.execute(update(hold_table).where(hold_table.c.id == new_id).values(slot=slot))
    return await _load(session, tenant_id=tenant_id, hold_id=new_id), False


async def capture_hold(
    session: AsyncSession,
    *,
    tenant_id: int,
    hold_id: int,
    idempotency_key: str,
    amount: int | None = None,
    description: str | None = None,
    created_by_user_id: int | None = None,
    now: datetime | None = None,
) -> PostedTransfer:
    """Turn a hold into a transfer of ``amount`` (default: all of it); the rest is released."""
    fingerprint = request_fingerprint("capture", {"hold": hold_id, "amount": amount, "description": description})
    existing = await find_by_key(session, tenant_id=tenant_id, idempotency_key=idempotency_key)
    if existing is not None:
        if existing.request_hash != fingerprint:
            raise IdempotencyKeyReused("This Idempotency-Key was already used for a different request.")
        return existing
    now = now or utcnow()
    hold = await _load(session, tenant_id=tenant_id, hold_id=hold_id)
    captured = hold.amount if amount is None else amount
    validate_amount(captured)
    if captured > hold.amount:
        raise CaptureExceedsHold(f"The hold reserves {hold.amount} points; {captured} cannot be captured.")
    won = (
        await session.execute(
            _resolve_stmt,
            {"hid": hold_id, "tid": tenant_id, "now": now, "new_status": HoldStatus.CAPTURED.value, "captured": captured},
        )
    ).first()
    if won is None:
        # A concurrent request with the same key may have captured it a moment ago.
        existing = await find_by_key(session, tenant_id=tenant_id, idempotency_key=idempotency_key)
        if existing is not None:
            if existing.request_hash != fingerprint:
                raise IdempotencyKeyReused("This Idempotency-Key was already used for a different request.")
            return existing
        await _raise_unresolvable(session, tenant_id=tenant_id, hold_id=hold_id, now=now)
    await balances.settle(session, account_id=hold.debit_account_id, slot=hold.slot, held=hold.amount, captured=captured)
    metas = await account_metas(session, tenant_id=tenant_id, account_ids=(hold.credit_account_id,))
    await balances.credit(session, metas[hold.credit_account_id], captured)
    return await post_transfer(
        session,
        tenant_id=tenant_id,
        idempotency_key=idempotency_key,
        kind=hold.kind,
        debit_account_id=hold.debit_account_id,
        credit_account_id=hold.credit_account_id,
        amount=captured,
        description=description or hold.description,
        meta={**hold.meta, "held": hold.amount},
        created_by_user_id=created_by_user_id,
        fingerprint=fingerprint,
        hold_id=hold.id,
        balance_legs=False,
        now=now,
    )


async def void_hold(
    session: AsyncSession, *, tenant_id: int, hold_id: int, now: datetime | None = None
) -> Hold:
    """Release a hold's points. Voiding a voided or expired hold changes nothing."""
    now = now or utcnow()
    hold = await _load(session, tenant_id=tenant_id, hold_id=hold_id)
    won = (
        await session.execute(
            _resolve_stmt,
            {"hid": hold_id, "tid": tenant_id, "now": now, "new_status": HoldStatus.VOIDED.value, "captured": None},
        )
    ).first()
    if won is not None:
        await balances.release(session, account_id=hold.debit_account_id, slot=hold.slot, amount=hold.amount)
        return await _load(session, tenant_id=tenant_id, hold_id=hold_id)
    hold = await _load(session, tenant_id=tenant_id, hold_id=hold_id)
    if hold.status == HoldStatus.CAPTURED:
        raise HoldAlreadyResolved(f"Hold {hold_id} was already captured.")
    if hold.status == HoldStatus.PENDING:  # overdue: expire it now, the effect a void wants
        await _expire(session, hold=hold, now=now)
        hold = await _load(session, tenant_id=tenant_id, hold_id=hold_id)
    return hold


async def _raise_unresolvable(session: AsyncSession, *, tenant_id: int, hold_id: int, now: datetime) -> None:
    hold = await _load(session, tenant_id=tenant_id, hold_id=hold_id)
    if hold.status == HoldStatus.PENDING or hold.status == HoldStatus.EXPIRED:
        raise HoldExpired(f"Hold {hold_id} expired at {hold.expires_at.isoformat()}; start a new one.")
    raise HoldAlreadyResolved(f"Hold {hold_id} is already {hold.status}.")


_expire_stmt = (
    update(hold_table)
    .where(hold_table.c.id == bindparam("hid"), hold_table.c.status == HoldStatus.PENDING.value)
    .values(status=HoldStatus.EXPIRED.value, resolved_at=bindparam("now"))
    .returning(hold_table.c.id)
)


async def _expire(session: AsyncSession, *, hold: Hold, now: datetime) -> bool:
    won = (await session.execute(_expire_stmt, {"hid": hold.id, "now": now})).first()
    if won is not None:
        await balances.release(session, account_id=hold.debit_account_id, slot=hold.slot, amount=hold.amount)
        return True
    return False


_overdue_for_account = select(
    hold_table.c.id, hold_table.c.debit_account_id, hold_table.c.slot, hold_table.c.amount
).where(
    hold_table.c.debit_account_id == bindparam("aid"),
    hold_table.c.status == HoldStatus.PENDING.value,
    hold_table.c.expires_at <= bindparam("now"),
)


async def expire_overdue_holds_for_account(session: AsyncSession, *, account_id: int, now: datetime) -> int:
    count = 0
    for row in (await session.execute(_overdue_for_account, {"aid": account_id, "now": now})).all():
        if await _expire(session, hold=row, now=now):  # type: ignore[arg-type]
            count += 1
    return count


async def expire_overdue_holds(
    session: AsyncSession, *, now: datetime | None = None, tenant_id: int | None = None, limit: int = 500
) -> int:
    """Sweep: mark overdue holds expired and free their points. Safe to run concurrently."""
    now = now or utcnow()
    query = (
        select(hold_table.c.id, hold_table.c.debit_account_id, hold_table.c.slot, hold_table.c.amount)
        .where(hold_table.c.status == HoldStatus.PENDING.value, hold_table.c.expires_at <= now)
        .order_by(hold_table.c.expires_at)
        .limit(limit)
    )
    if tenant_id is not None:
        query = query.where(hold_table.c.tenant_id == tenant_id)
    count = 0
    for row in (await session.execute(query)).all():
        if await _expire(session, hold=row, now=now):  # type: ignore[arg-type]
            count += 1
    return count


async def overdue_pending(session: AsyncSession, *, account_ids: list[int], now: datetime) -> dict[int, int]:
    """Points still counted as pending although their hold has run out, per account."""
    if not account_ids:
        return {}
    rows = (
        await session.execute(
            select(hold_table.c.debit_account_id, hold_table.c.amount).where(
                hold_table.c.debit_account_id.in_(account_ids),
                hold_table.c.status == HoldStatus.PENDING.value,
                hold_table.c.expires_at <= now,
            )
        )
    ).all()
    totals: dict[int, int] = {}
    for row in rows:
        totals[row.debit_account_id] = totals.get(row.debit_account_id, 0) + row.amount
    return totals
