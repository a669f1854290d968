"""Posting transfers: idempotent, double-entry, checked against floors, append-only.

A transfer row is inserted first with ``ON CONFLICT DO NOTHING`` on its idempotency key:
a concurrent duplicate waits for the first to commit and then finds it, so the same key
sent twenty times at once yields one transfer. Balance shards are then updated in
account-id order (no lock cycles between two transfers), and the two entries written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.errors import IdempotencyKeyReused
from backend.core.idempotency import request_fingerprint
from backend.core.types import utcnow
from backend.ledger import balances
from backend.ledger.accounts import REVERSAL_KIND, AccountMeta, account_metas, check_flow
from backend.ledger.fastpath import post_in_one_statement
from backend.ledger.errors import (
    AlreadyReversed,
    CannotReverse,
    FlowNotAllowed,
    InvalidAmount,
    ReversalExceedsAmount,
    TransferNotFound,
)
from backend.ledger.models import Entry, Transfer

transfer_table = Transfer.__table__
entry_table = Entry.__table__

MAX_AMOUNT = 10**12  # far above any town's money, far below a 64-bit overflow

_TRANSFER_COLUMNS = [c for c in transfer_table.c]


def _insert_transfer_stmt(dialect_name: str) -> Any:
    module = postgresql if dialect_name == "postgresql" else sqlite
    return (
        module.insert(transfer_table)
        .on_conflict_do_nothing(index_elements=["tenant_id", "idempotency_key"])
        .returning(transfer_table.c.id)
    )


_INSERT_TRANSFER = {name: _insert_transfer_stmt(name) for name in ("postgresql", "sqlite")}
_insert_entries = insert(entry_table)
_by_key = select(*_TRANSFER_COLUMNS).where(
    transfer_table.c.tenant_id == bindparam("tid"), transfer_table.c.idempotency_key == bindparam("key")
)
_by_id = select(*_TRANSFER_COLUMNS).where(
    transfer_table.c.tenant_id == bindparam("tid"), transfer_table.c.id == bindparam("id")
)


@dataclass(frozen=True, slots=True)
class PostedTransfer:
    id: int
    tenant_id: int
    idempotency_key: str
    kind: str
    debit_account_id: int
    credit_account_id: int
    amount: int
    reverses_transfer_id: int | None
    hold_id: int | None
    description: str | None
    meta: dict[str, Any]
    created_by_user_id: int | None
    created_at: datetime
    request_hash: str
    replayed: bool = False

    @classmethod
    def from_row(cls, row: Any, *, replayed: bool) -> "PostedTransfer":
        m = row._mapping
        return cls(
            id=m["id"],
            tenant_id=m["tenant_id"],
            idempotency_key=m["idempotency_key"],
            kind=m["kind"],
            debit_account_id=m["debit_account_id"],
            credit_account_id=m["credit_account_id"],
            amount=m["amount"],
            reverses_transfer_id=m["reverses_transfer_id"],
            hold_id=m["hold_id"],
            description=m["description"],
            meta=m["meta"] or {},
            created_by_user_id=m["created_by_user_id"],
            created_at=m["created_at"],
            request_hash=m["request_hash"],
            replayed=replayed,
        )


def validate_amount(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount("Amounts are whole points.")
    if amount <= 0:
        raise InvalidAmount("The amount must be at least 1 point.")
    if amount > MAX_AMOUNT:
        raise InvalidAmount(f"The amount may not exceed {MAX_AMOUNT} points.")


async def find_by_key(session: AsyncSession, *, tenant_id: int, idempotency_key: str) -> PostedTransfer | None:
    row = (await session.execute(_by_key, {"tid": tenant_id, "key": idempotency_key})).first()
    return PostedTransfer.from_row(row, replayed=True) if row is not None else None


def _replay_or_conflict(existing: PostedTransfer, fingerprint: str) -> PostedTransfer:
    if existing.request_hash != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different request; use a new key.",
            transfer_id=existing.id,
        )
    return existing


async def post_transfer(
    session: AsyncSession,
    *,
    tenant_id: int,
    idempotency_key: str,
    kind: str,
    debit_account_id: int,
    credit_account_id: int,
    amount: int,
    description: str | None = None,
    meta: dict[str, Any] | None = None,
    created_by_user_id: int | None = None,
    fingerprint: str | None = None,
    reverses_transfer_id: int | None = None,
    hold_id: int | None = None,
    balance_legs: bool = True,
    now: datetime | None = None,
) -> PostedTransfer:
    """Post one transfer (or return the one already posted under this key).

    ``fingerprint`` identifies the caller's request for idempotency; by default it is the
    transfer's own content. ``balance_legs=False`` lets hold capture adjust the debit
    shard itself (it must release the pending part in the same update).
    """
    validate_amount(amount)
    if debit_account_id == credit_account_id:
        # Only wallet_merge links two accounts of the same type; the database's
        # distinct_accounts CHECK would otherwise surface as an IntegrityError (a 500).
        raise FlowNotAllowed("A transfer moves points between two different accounts.")
    meta = meta or {}
    fingerprint = fingerprint or request_fingerprint(
        f"transfer:{kind}",
        {
            "debit": debit_account_id,
            "credit": credit_account_id,
            "amount": amount,
            "description": description,
            "meta": meta,
            "reverses": reverses_transfer_id,
            "hold": hold_id,
        },
    )
    metas = await account_metas(session, tenant_id=tenant_id, account_ids=(debit_account_id, credit_account_id))
    debit_meta, credit_meta = metas[debit_account_id], metas[credit_account_id]
    if kind == REVERSAL_KIND:
        pass  # the caller checked the reversal runs the original flow backwards
    else:
        check_flow(kind, debit_meta, credit_meta)

    created_at = now or utcnow()
    params = {
        "tenant_id": tenant_id,
        "idempotency_key": idempotency_key,
        "request_hash": fingerprint,
        "kind": kind,
        "debit_account_id": debit_account_id,
        "credit_account_id": credit_account_id,
        "amount": amount,
        "reverses_transfer_id": reverses_transfer_id,
        "hold_id": hold_id,
        "description": description,
        "meta": meta,
        "created_by_user_id": created_by_user_id,
    }
    try:
        if balance_legs and session.bind.dialect.name == "postgresql":
            result = await post_in_one_statement(
                session,
                params=params,
                debit_slot=balances.pick_slot(debit_meta),
                credit_slot=balances.pick_slot(credit_meta),
                debit_first=debit_account_id < credit_account_id,
                created_at=created_at,
            )
            new_id = result.transfer_id
            legs_done = (result.debited, result.credited, result.entries_written)
        else:
            new_id = (
                await session.execute(_INSERT_TRANSFER[session.bind.dialect.name], {**params, "created_at": created_at})
            ).scalar()
            legs_done = (not balance_legs, not balance_legs, False)
    except IntegrityError as exc:
        if reverses_transfer_id is not None and "reverses_transfer_id" in str(exc.orig):
            raise AlreadyReversed(f"Transfer {reverses_transfer_id} was already reversed.") from exc
        raise
    if new_id is None:
        existing = await find_by_key(session, tenant_id=tenant_id, idempotency_key=idempotency_key)
        assert existing is not None  # the conflicting row is committed, or we would have waited
        return _replay_or_conflict(existing, fingerprint)

    debited, credited, entries_written = legs_done
    if not (debited and credited):
        await _apply_legs(
            session, debit_meta, credit_meta, amount, now=created_at, debit=not debited, credit=not credited
        )
    if not entries_written:
        await session.execute(
            _insert_entries,
            [
                {"tenant_id": tenant_id, "transfer_id": new_id, "account_id": debit_account_id, "amount": -amount, "created_at": created_at},
                {"tenant_id": tenant_id, "transfer_id": new_id, "account_id": credit_account_id, "amount": amount, "created_at": created_at},
            ],
        )
    posted = PostedTransfer(
        id=new_id,
        tenant_id=tenant_id,
        idempotency_key=idempotency_key,
        kind=kind,
        debit_account_id=debit_account_id,
        credit_account_id=credit_account_id,
        amount=amount,
        reverses_transfer_id=reverses_transfer_id,
        hold_id=hold_id,
        description=description,
        meta=meta,
        created_by_user_id=created_by_user_id,
        created_at=created_at,
        request_hash=fingerprint,
    )
    if kind in _ROLLUP_KINDS:
        # The reports' activity rollup moves in the same transaction, so it never lags the ledger.
        from backend.reports.rollup import apply_transfer

        await apply_transfer(session, posted)
    return posted


_ROLLUP_KINDS = frozenset({"earn", "bonus", "redeem", "expiry", REVERSAL_KIND})


async def _apply_legs(
    session: AsyncSession,
    debit_meta: AccountMeta,
    credit_meta: AccountMeta,
    amount: int,
    *,
    now: datetime,
    debit: bool = True,
    credit: bool = True,
) -> None:
    # Always lock the lower account id first so two transfers can't wait on each other.
    if debit_meta.id < credit_meta.id:
        if debit:
            await balances.debit(session, debit_meta, amount, now=now)
        if credit:
            await balances.credit(session, credit_meta, amount)
    else:
        if credit:
            await balances.credit(session, credit_meta, amount)
        if debit:
            await balances.debit(session, debit_meta, amount, now=now)


async def get_transfer(session: AsyncSession, *, tenant_id: int, transfer_id: int) -> PostedTransfer:
    row = (await session.execute(_by_id, {"tid": tenant_id, "id": transfer_id})).first()
    if row is None:
        raise TransferNotFound(f"Transfer {transfer_id} does not exist in this municipality.")
    return PostedTransfer.from_row(row, replayed=False)


async def reverse_transfer(
    session: AsyncSession,
    *,
    tenant_id: int,
    transfer_id: int,
    idempotency_key: str,
    amount: int | None = None,
    description: str | None = None,
    meta: dict[str, Any] | None = None,
    created_by_user_id: int | None = None,
    now: datetime | None = None,
) -> PostedTransfer:
    """Undo a transfer, fully or in part, once: a new transfer running the other way."""
    fingerprint = request_fingerprint(
        "reversal", {"transfer": transfer_id, "amount": amount, "description": description, "meta": meta or {}}
    )
    existing = await find_by_key(session, tenant_id=tenant_id, idempotency_key=idempotency_key)
    if existing is not None:
        return _replay_or_conflict(existing, fingerprint)
    original = await get_transfer(session, tenant_id=tenant_id, transfer_id=transfer_id)
    if original.kind == REVERSAL_KIND:
        raise CannotReverse("A reversal cannot itself be reversed; post a new transfer instead.")
    reverse_amount = original.amount if amount is None else amount
    validate_amount(reverse_amount)
    if reverse_amount > original.amount:
        raise ReversalExceedsAmount(
            f"Transfer {transfer_id} moved {original.amount} points; {reverse_amount} cannot be reversed."
        )
    already = (
        await session.execute(
            select(transfer_table.c.id).where(
                transfer_table.c.tenant_id == tenant_id, transfer_table.c.reverses_transfer_id == transfer_id
            )
        )
    ).first()
    if already is not None:
        raise AlreadyReversed(f"Transfer {transfer_id} was already reversed by transfer {already.id}.")
    return await post_transfer(
        session,
        tenant_id=tenant_id,
        idempotency_key=idempotency_key,
        kind=REVERSAL_KIND,
        debit_account_id=original.credit_account_id,
        credit_account_id=original.debit_account_id,
        amount=reverse_amount,
        description=description or f"Reversal of transfer {transfer_id}",
        meta={**(meta or {}), "reversed_kind": original.kind},
        created_by_user_id=created_by_user_id,
        fingerprint=fingerprint,
        reverses_transfer_id=transfer_id,
        now=now,
    )
