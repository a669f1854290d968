"""PostgreSQL: post a transfer in one round trip when nothing unusual happens.

One statement inserts the transfer (skipping it on an idempotency-key conflict), takes
the points from a shard of the debited account if that shard can pay, adds them to a
shard of the credited account, and writes both entries only when both legs applied.
The legs run in account-id order (each depends on the one before), the same order the
generic path uses, so the two paths never wait on each other in a cycle. Whatever the
statement could not do (a shard that could not pay) the caller finishes with the
generic code in the same transaction, so the rules live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_INSERT_TRANSFER = """
t AS (
    INSERT INTO transfer (tenant_id, idempotency_key, request_hash, kind, debit_account_id,
                          credit_account_id, amount, reverses_transfer_id, hold_id, description,
                          meta, created_by_user_id, created_at)
    VALUES (:tenant_id, :idempotency_key, :request_hash, :kind, :debit_account_id,
            :credit_account_id, :amount, :reverses_transfer_id, :hold_id, :description,
            CAST(:meta AS JSON), :created_by_user_id, :created_at)
    ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
    RETURNING id
)"""

_DEBIT = """
{name} AS (
    UPDATE account_balance SET balance = balance - :amount
    WHERE account_id = :debit_account_id AND slot = :debit_slot
      AND (floor IS NULL OR balance - pending - :amount >= floor)
      AND EXISTS (SELECT 1 FROM {after})
    RETURNING 1 AS ok
)"""

_CREDIT = """
{name} AS (
    UPDATE account_balance SET balance = balance + :amount
    WHERE account_id = :credit_account_id AND slot = :credit_slot
      AND EXISTS (SELECT 1 FROM {after})
    RETURNING 1 AS ok
)"""

_ENTRIES = """
e AS (
    INSERT INTO entry (tenant_id, transfer_id, account_id, amount, created_at)
    SELECT :tenant_id, t.id, legs.account_id, legs.amount, :created_at
    FROM t, {last},
         (VALUES (CAST(:debit_account_id AS BIGINT), -CAST(:amount AS BIGINT)),
                 (CAST(:credit_account_id AS BIGINT), CAST(:amount AS BIGINT))) AS legs(account_id, amount)
    RETURNING 1
)"""

_FINAL = """
SELECT (SELECT id FROM t) AS transfer_id,
       EXISTS (SELECT 1 FROM d) AS debited,
       EXISTS (SELECT 1 FROM c) AS credited,
       (SELECT count(*) FROM e) AS entries
"""


def _statement(debit_first: bool) -> Any:
    if debit_first:
        legs = [_DEBIT.format(name="d", after="t"), _CREDIT.format(name="c", after="d")]
        last = "c"
    else:
        legs = [_CREDIT.format(name="c", after="t"), _DEBIT.format(name="d", after="c")]
        last = "d"
    sql = "WITH " + ",".join([_INSERT_TRANSFER, *legs, _ENTRIES.format(last=last)]) + _FINAL
    return text(sql)


_DEBIT_FIRST = _statement(debit_first=True)
_CREDIT_FIRST = _statement(debit_first=False)


@dataclass(frozen=True, slots=True)
class FastResult:
    transfer_id: int | None
    debited: bool
    credited: bool
    entries_written: bool


async def post_in_one_statement(
    session: AsyncSession,
    *,
    params: dict[str, Any],
    debit_slot: int,
    credit_slot: int,
    debit_first: bool,
    created_at: datetime,
) -> FastResult:
    bound = {
        **params,
        "meta": orjson.dumps(params["meta"]).decode(),
        "created_at": created_at,
        "debit_slot": debit_slot,
        "credit_slot": credit_slot,
    }
    row = (await session.execute(_DEBIT_FIRST if debit_first else _CREDIT_FIRST, bound)).one()
    return FastResult(
        transfer_id=row.transfer_id,
        debited=bool(row.debited),
        credited=bool(row.credited),
        entries_written=row.entries == 2,
    )
