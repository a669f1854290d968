"""What a shop sees of its own day at the till, and how much float it has left."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend.ledger.models import Account, Transfer
from backend.ledger.service import get_balances
from backend.till.context import Till
from backend.till.redeem import REDEEM_KIND
from backend.till.rules import EARN_KIND, brussels_day

# A float is low when it could pay for less than a tenth of its last top-up, or less
# than this many points (a handful of ordinary sales) whatever the top-up was.
LOW_FLOAT_POINTS = 1000
LOW_FLOAT_FRACTION = 10


@dataclass
class TillDay:
    day: date
    earns: list[dict[str, Any]] = field(default_factory=list)
    redemptions: list[dict[str, Any]] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        live = [e for e in self.earns if not e["undone"]]
        return {
            "earn_count": len(live),
            "points_issued": sum(e["points"] - e["reversed_points"] for e in self.earns),
            "purchase_cents": sum(e["purchase_cents"] - e["refunded_cents"] for e in live),
            "redemption_count": len(self.redemptions),
            "points_redeemed": sum(r["points"] for r in self.redemptions),
            "discount_cents": sum(r["discount_cents"] for r in self.redemptions),
        }


async def till_day(session: AsyncSession, *, till: Till, now: datetime) -> TillDay:
    day, start, end = brussels_day(now)
    t = Transfer.__table__
    r = aliased(t)
    earn_rows = (
        await session.execute(
            select(
                t.c.id,
                t.c.amount,
                t.c.meta,
                t.c.created_at,
                r.c.amount.label("reversed"),
                r.c.meta.label("rmeta"),
            )
            .select_from(t.outerjoin(r, r.c.reverses_transfer_id == t.c.id))
            .where(
                t.c.debit_account_id == till.float_account_id,
                t.c.created_at >= start,
                t.c.created_at < end,
                t.c.kind == EARN_KIND,
            )
            .order_by(t.c.created_at, t.c.id)
        )
    ).all()
    result = TillDay(day=day)
    for row in earn_rows:
        reversal = row.rmeta or {}
        undone = row.reversed is not None and reversal.get("till") != "refund"
        result.earns.append(
            {
                "transfer_id": row.id,
                "points": row.amount,
                "purchase_cents": int(row.meta.get("purchase_cents", 0)),
                "capped": bool(row.meta.get("capped", False)),
                "via": "card"
                if "card_id" in row.meta
                else "claim"
                if "claim_id" in row.meta
                else "wallet",
                "reversed_points": row.reversed or 0,
                "refunded_cents": int(reversal.get("refund_cents", 0)),
                "undone": undone,
                "created_at": row.created_at,
            }
        )
    redeem_rows = (
        await session.execute(
            select(t.c.id, t.c.amount, t.c.hold_id, t.c.created_at)
            .where(
                t.c.credit_account_id == till.redeemed_account_id,
                t.c.created_at >= start,
                t.c.created_at < end,
                t.c.kind == REDEEM_KIND,
            )
            .order_by(t.c.created_at, t.c.id)
        )
    ).all()
    for row in redeem_rows:
        result.redemptions.append(
            {
                "transfer_id": row.id,
                "hold_id": row.hold_id,
                "points": row.amount,
                "discount_cents": row.amount * till.tenant.point_value_cents,
                "created_at": row.created_at,
            }
        )
    return result


@dataclass(frozen=True, slots=True)
class FloatState:
    balance: int
    available: int
    credit_limit: int
    last_topup: int | None
    low: bool


async def float_state(session: AsyncSession, *, till: Till, now: datetime) -> FloatState:
    tenant_id: int = till.tenant.id  # type: ignore[assignment]
    account = await session.get(Account, till.float_account_id)
    balance = (
        await get_balances(
            session, tenant_id=tenant_id, account_ids=[till.float_account_id], now=now
        )
    )[till.float_account_id]
    credit_limit = account.credit_limit if account else 0
    # What the till can still give away: its points plus the credit the municipality allows.
    available = balance.available + credit_limit
    t = Transfer.__table__
    last_topup = await session.scalar(
        select(t.c.amount)
        .where(t.c.credit_account_id == till.float_account_id, t.c.kind == "topup")
        .order_by(t.c.created_at.desc(), t.c.id.desc())
        .limit(1)
    )
    low = available < LOW_FLOAT_POINTS or (
        last_topup is not None and available * LOW_FLOAT_FRACTION < last_topup
    )
    return FloatState(
        balance=balance.balance,
        available=available,
        credit_limit=credit_limit,
        last_topup=last_topup,
        low=low,
    )
