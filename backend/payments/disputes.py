"""Giving points back to a float when the municipality wins a Stripe dispute.

A dispute takes points back at once (``float_clawback`` transfers, and a ``FloatDebt`` for
what the float no longer held). When the dispute is won the money is the town's again, so
the shop gets back what was taken for it: first the debt it had not paid yet is cancelled
(no points move, it simply owes less), then the clawbacks of that top-up are reversed,
newest first, by ledger reversals pointing at them (the ledger is append-only). A debt the
next top-up had already collected was a ``float_clawback`` of the same top-up too, so it
comes back the same way.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.ledger import service as ledger
from backend.ledger.models import Transfer
from backend.payments.models import FloatDebt, TopUp

CLAWBACK_KIND = "float_clawback"


def net_taken_back(topup: TopUp) -> int:
    """Points the shop has given back for this top-up, net of what a won dispute returned."""
    return topup.clawed_back_points + topup.debt_points - topup.reinstated_points - topup.debt_cancelled_points


async def _cancel_open_debt(session: AsyncSession, *, topup: TopUp, points: int, now: datetime) -> int:
    debts = (
        await session.execute(
            select(FloatDebt)
            .where(FloatDebt.tenant_id == topup.tenant_id, FloatDebt.topup_id == topup.id,
                   FloatDebt.settled_at.is_(None))
            .order_by(FloatDebt.id.desc())
            .with_for_update()
            # A debt collection that committed while we waited for the lock must be seen.
            .execution_options(populate_existing=True)
        )
    ).scalars().all()
    cancelled = 0
    for debt in debts:
        cancel = min(debt.points - debt.collected_points - debt.cancelled_points, points - cancelled)
        if cancel <= 0:
            continue
        debt.cancelled_points += cancel
        if debt.collected_points + debt.cancelled_points == debt.points:
            debt.settled_at = now
        session.add(debt)
        cancelled += cancel
    return cancelled


async def _reversible_clawbacks(session: AsyncSession, *, topup: TopUp, float_account_id: int) -> list[tuple[int, int]]:
    """(transfer id, amount) of this top-up's clawbacks not reversed yet, newest first."""
    t = Transfer.__table__
    rows = (
        await session.execute(
            select(t.c.id, t.c.amount, t.c.meta)
            .where(t.c.tenant_id == topup.tenant_id, t.c.debit_account_id == float_account_id,
                   t.c.kind == CLAWBACK_KIND, t.c.created_at >= topup.created_at)
            .order_by(t.c.id.desc())
        )
    ).all()
    ours = [(row.id, row.amount) for row in rows if (row.meta or {}).get("topup_id") == topup.id]
    if not ours:
        return []
    reversed_ids = set(
        (
            await session.execute(
                select(t.c.reverses_transfer_id).where(
                    t.c.tenant_id == topup.tenant_id, t.c.reverses_transfer_id.in_([i for i, _ in ours])
                )
            )
        ).scalars()
    )
    return [(i, amount) for i, amount in ours if i not in reversed_ids]


async def give_back(
    session: AsyncSession, *, topup: TopUp, float_account_id: int, points: int, meta: dict[str, object], now: datetime
) -> int:
    """Return up to ``points`` taken back for ``topup`` (row locked); returns how many."""
    cancelled = await _cancel_open_debt(session, topup=topup, points=points, now=now)
    topup.debt_cancelled_points += cancelled
    returned = cancelled
    for transfer_id, amount in await _reversible_clawbacks(session, topup=topup, float_account_id=float_account_id):
        if returned >= points:
            break
        back = min(amount, points - returned)
        await ledger.reverse_transfer(
            session,
            tenant_id=topup.tenant_id,
            transfer_id=transfer_id,
            # One reversal per clawback transfer, ever: the ledger refuses a second one.
            idempotency_key=f"stripe:topup:{topup.id}:reinstate:{transfer_id}",
            amount=back,
            description=f"Dispute won: float top-up {topup.id} points given back",
            meta=meta,
            now=now,
        )
        topup.reinstated_points += back
        returned += back
    await session.flush()
    return returned
