"""Tamper evidence: committed transfers chained by hash, per tenant, in sealing order.

Posting a transfer never touches the chain, so the write path is not serialized by it.
A sealer (a background job in the server, and ``kernpunt ledger verify``) takes the
tenant's chain head under a row lock, picks up committed transfers that have no seal
yet, and appends one link per transfer: ``hash = sha256(prev_hash || canonical(transfer))``.
A transfer whose content is later changed no longer matches its link.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.types import utcnow
from backend.ledger.models import LedgerChainHead, LedgerSeal, Transfer

GENESIS_HASH = "0" * 64
# A transaction may commit a little after it stamped its transfers; look back this far
# behind the newest sealed transfer so late commits are still picked up.
LATE_COMMIT_MARGIN = timedelta(minutes=5)

t = Transfer.__table__
seal = LedgerSeal.__table__
head = LedgerChainHead.__table__


def canonical_transfer(row: Any) -> bytes:
    m = row._mapping if hasattr(row, "_mapping") else row
    created_at: datetime = m["created_at"]
    return orjson.dumps(
        {
            "id": m["id"],
            "tenant_id": m["tenant_id"],
            "idempotency_key": m["idempotency_key"],
            "request_hash": m["request_hash"],
            "kind": m["kind"],
            "debit_account_id": m["debit_account_id"],
            "credit_account_id": m["credit_account_id"],
            "amount": m["amount"],
            "reverses_transfer_id": m["reverses_transfer_id"],
            "hold_id": m["hold_id"],
            "description": m["description"],
            "meta": m["meta"] or {},
            "created_by_user_id": m["created_by_user_id"],
            "created_at": created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        },
        option=orjson.OPT_SORT_KEYS,
    )


def link_hash(prev_hash: str, row: Any) -> str:
    return hashlib.sha256(prev_hash.encode() + b"|" + canonical_transfer(row)).hexdigest()


def _insert_head_stmt(dialect_name: str) -> Any:
    module = postgresql if dialect_name == "postgresql" else sqlite
    return module.insert(head).on_conflict_do_nothing(index_elements=["tenant_id"])


_INSERT_HEAD = {name: _insert_head_stmt(name) for name in ("postgresql", "sqlite")}
_lock_head = select(head).where(head.c.tenant_id == bindparam("tid")).with_for_update()


async def seal_pending(
    session: AsyncSession, *, tenant_id: int, batch_size: int = 2000, full_scan: bool = False
) -> int:
    """Append links for committed, unsealed transfers of one tenant; returns how many."""
    now = utcnow()
    await session.execute(
        _INSERT_HEAD[session.bind.dialect.name],
        {"tenant_id": tenant_id, "last_seq": 0, "last_hash": GENESIS_HASH, "sealed_through": None, "updated_at": now},
    )
    chain_head = (await session.execute(_lock_head, {"tid": tenant_id})).one()
    query = (
        select(t)
        .outerjoin(seal, seal.c.transfer_id == t.c.id)
        .where(t.c.tenant_id == tenant_id, seal.c.transfer_id.is_(None))
        .order_by(t.c.id)
        .limit(batch_size)
    )
    if chain_head.sealed_through is not None and not full_scan:
        query = query.where(t.c.created_at >= chain_head.sealed_through - LATE_COMMIT_MARGIN)
    rows = (await session.execute(query)).all()
    if not rows:
        return 0
    prev_hash, seq = chain_head.last_hash, chain_head.last_seq
    links = []
    newest = chain_head.sealed_through
    for row in rows:
        seq += 1
        digest = link_hash(prev_hash, row)
        links.append(
            {"transfer_id": row.id, "tenant_id": tenant_id, "seq": seq, "prev_hash": prev_hash, "hash": digest, "sealed_at": now}
        )
        prev_hash = digest
        if newest is None or row.created_at > newest:
            newest = row.created_at
    await session.execute(insert(seal), links)
    await session.execute(
        update(head)
        .where(head.c.tenant_id == tenant_id)
        .values(last_seq=seq, last_hash=prev_hash, sealed_through=newest, updated_at=now)
    )
    return len(links)


async def seal_all(session: AsyncSession, *, tenant_id: int, full_scan: bool = False) -> int:
    total = 0
    while True:
        sealed = await seal_pending(session, tenant_id=tenant_id, full_scan=full_scan)
        total += sealed
        if sealed == 0:
            return total
