"""Every Stripe payment against its ledger credit, with the differences flagged."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.ledger.accounts import REVERSAL_KIND
from backend.ledger.models import Transfer
from backend.payments.errors import InvalidPeriod
from backend.payments.models import TopUp
from backend.payments.service import CLAWBACK_KIND, points_due_back
from backend.tenants.models import Tenant

MAX_DAYS = 366


def day_bounds(tenant: Tenant, start: date, end: date) -> tuple[datetime, datetime]:
    """[start, end) as instants: the municipality's calendar days, not UTC days."""
    if end <= start:
        raise InvalidPeriod("'to' must come after 'from'.")
    if (end - start).days > MAX_DAYS:
        raise InvalidPeriod(f"A report covers at most {MAX_DAYS} days.")
    zone = ZoneInfo(tenant.timezone)
    return datetime.combine(start, time(), zone), datetime.combine(end, time(), zone)


async def _reinstated(session: AsyncSession, *, tenant_id: int, clawback_owner: dict[int, int]) -> dict[int, int]:
    """Points a won dispute gave back per top-up: the ledger reversals of its clawbacks."""
    found: dict[int, int] = defaultdict(int)
    ids = list(clawback_owner)
    for start in range(0, len(ids), 1000):
        rows = await session.execute(
            select(Transfer.reverses_transfer_id, Transfer.amount).where(
                Transfer.tenant_id == tenant_id,
                Transfer.kind == REVERSAL_KIND,
                Transfer.reverses_transfer_id.in_(ids[start:start + 1000]),
            )
        )
        for row in rows:
            found[clawback_owner[row.reverses_transfer_id]] += row.amount
    return found


async def reconcile(session: AsyncSession, *, tenant: Tenant, start: date, end: date) -> dict[str, Any]:
    since, until = day_bounds(tenant, start, end)
    tenant_id: int = tenant.id  # type: ignore[assignment]
    topups = (
        await session.execute(
            select(TopUp)
            .where(TopUp.tenant_id == tenant_id, TopUp.created_at >= since, TopUp.created_at < until)
            .order_by(TopUp.id)
        )
    ).scalars().all()
    # Credits and clawbacks come after their top-up was created, never before.
    transfers = (
        await session.execute(
            select(Transfer.id, Transfer.kind, Transfer.amount, Transfer.meta, Transfer.created_at).where(
                Transfer.tenant_id == tenant_id,
                Transfer.kind.in_(("topup", CLAWBACK_KIND)),
                Transfer.created_at >= since,
            )
        )
    ).all()
    credits: dict[int, list[Any]] = defaultdict(list)
    clawbacks: dict[int, int] = defaultdict(int)
    clawback_owner: dict[int, int] = {}  # clawback transfer -> its top-up
    other_topups = []
    for row in transfers:
        topup_id = (row.meta or {}).get("topup_id")
        if row.kind == "topup":
            if topup_id is None:
                if row.created_at < until:
                    other_topups.append({"transfer_id": row.id, "points": row.amount, "created_at": row.created_at})
            else:
                credits[int(topup_id)].append(row)
        elif topup_id is not None:
            clawback_owner[row.id] = int(topup_id)
            if "float_debt_id" not in (row.meta or {}):  # collected debt counts as debt_points
                clawbacks[int(topup_id)] += row.amount
    reinstated = await _reinstated(session, tenant_id=tenant_id, clawback_owner=clawback_owner)
    pv = tenant.point_value_cents
    payments = []
    for topup in topups:
        credited = credits.get(topup.id, [])  # type: ignore[arg-type]
        credited_points = sum(row.amount for row in credited)
        due_back = points_due_back(topup, credited=credited_points, point_value_cents=pv)
        given_back = reinstated.get(topup.id, 0)  # type: ignore[arg-type]
        net_taken = clawbacks.get(topup.id, 0) + topup.debt_points - given_back - topup.debt_cancelled_points  # type: ignore[arg-type]
        flags = []
        if topup.paid_cents > 0 and not credited:
            flags.append("paid_not_credited")
        if len(credited) > 1:
            flags.append("credited_twice")
        if credited and topup.paid_cents == 0:
            flags.append("credited_without_payment")
        if topup.paid_cents > 0 and (
            topup.paid_cents != topup.amount_cents or (credited and credited_points != topup.points)
        ):
            flags.append("amount_mismatch")
        if net_taken < due_back:
            flags.append("refund_not_reversed")
        if net_taken > due_back:
            flags.append("dispute_won_not_given_back")
        payments.append(
            {
                "topup_id": topup.id,
                "merchant_id": topup.merchant_id,
                "status": topup.status,
                "created_at": topup.created_at,
                "checkout_session_id": topup.checkout_session_id,
                "payment_intent_id": topup.payment_intent_id,
                "amount_cents": topup.amount_cents,
                "paid_cents": topup.paid_cents,
                "refunded_cents": topup.refunded_cents,
                "disputed_cents": topup.disputed_cents,
                "reinstated_cents": topup.reinstated_cents,
                "points": topup.points,
                "credited_points": credited_points,
                "credit_transfer_ids": [row.id for row in credited],
                "clawed_back_points": clawbacks.get(topup.id, 0),  # type: ignore[arg-type]
                "debt_points": topup.debt_points,
                "reinstated_points": given_back,
                "debt_cancelled_points": topup.debt_cancelled_points,
                "net_taken_back_points": net_taken,
                "flags": flags,
            }
        )
    flagged = sum(1 for p in payments if p["flags"])
    return {
        "from": start,
        "to": end,
        "ok": flagged == 0,
        "flagged_count": flagged,
        "payments": payments,
        "ledger_topups_without_payment": other_topups,
    }
