"""The earn rule, the shop's Brussels day and the daily cap, in one place.

``points = floor(purchase_cents * rate / 100)``, the rate being the tenant's override
for the shop's category or its ``points_per_euro``. The daily cap counts what a shopper
earned at one shop during the current Europe/Brussels calendar day, net of undos and
refunds of those earns.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend.ledger.models import AccountBalance, Transfer
from backend.merchants.models import Merchant
from backend.tenants.models import Tenant
from backend.till.errors import DailyCapReached, PurchaseBelowMinimum

BRUSSELS = ZoneInfo("Europe/Brussels")
# Purchases are euro cents at a local till: anything above EUR 100,000 is a typo.
MAX_PURCHASE_CENTS = 10_000_000
EARN_KIND = "earn"


def rate_for(tenant: Tenant, merchant: Merchant) -> int:
    override = (tenant.category_points_per_euro or {}).get(merchant.category)
    return int(override) if override is not None else tenant.points_per_euro


def points_for(purchase_cents: int, rate: int) -> int:
    return purchase_cents * rate // 100


def earn_points(tenant: Tenant, merchant: Merchant, purchase_cents: int) -> tuple[int, int]:
    """(points, rate) for a purchase, refusing one that is too small to earn."""
    if purchase_cents < tenant.min_purchase_cents:
        raise PurchaseBelowMinimum(
            f"Purchases from {tenant.min_purchase_cents} cents earn points; this one is {purchase_cents}.",
            min_purchase_cents=tenant.min_purchase_cents,
        )
    rate = rate_for(tenant, merchant)
    points = points_for(purchase_cents, rate)
    if points < 1:
        raise PurchaseBelowMinimum(
            f"A purchase of {purchase_cents} cents earns less than 1 point at {rate} points per euro.",
            min_purchase_cents=max(tenant.min_purchase_cents, -(-100 // rate) if rate else 0),
        )
    return points, rate


def brussels_day(now: datetime) -> tuple[date, datetime, datetime]:
    """The shop's calendar day containing ``now`` and its bounds as aware datetimes."""
    day = now.astimezone(BRUSSELS).date()
    start = datetime.combine(day, time(0), tzinfo=BRUSSELS)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=BRUSSELS)
    return day, start, end


async def lock_wallet(session: AsyncSession, *, wallet_account_id: int) -> None:
    """Serialise earns into one wallet so two tills cannot both pass the daily cap.

    PostgreSQL: the wallet's single balance row, locked until commit; READ COMMITTED
    then lets the next statement see the other earn. SQLite: writers are serialised
    already (BEGIN IMMEDIATE), the lock is a no-op there.
    """
    if session.bind.dialect.name != "postgresql":
        return
    b = AccountBalance.__table__
    await session.execute(
        select(b.c.slot).where(b.c.account_id == wallet_account_id).with_for_update()
    )


async def earned_today(
    session: AsyncSession, *, float_account_id: int, wallet_account_id: int, now: datetime
) -> int:
    _, start, end = brussels_day(now)
    t = Transfer.__table__
    today = (
        t.c.debit_account_id == float_account_id,
        t.c.created_at >= start,
        t.c.created_at < end,
        t.c.credit_account_id == wallet_account_id,
        t.c.kind == EARN_KIND,
    )
    earned = await session.scalar(select(func.coalesce(func.sum(t.c.amount), 0)).where(*today))
    r = aliased(t)
    reversed_ = await session.scalar(
        select(func.coalesce(func.sum(r.c.amount), 0))
        .select_from(r.join(t, r.c.reverses_transfer_id == t.c.id))
        .where(*today)
    )
    return int(earned or 0) - int(reversed_ or 0)


async def apply_daily_cap(
    session: AsyncSession,
    *,
    tenant: Tenant,
    float_account_id: int,
    wallet_account_id: int,
    points: int,
    now: datetime,
) -> tuple[int, bool]:
    """(points to credit, capped) under the tenant's daily cap, or DailyCapReached."""
    cap = tenant.daily_cap_points
    if cap is None:
        return points, False
    await lock_wallet(session, wallet_account_id=wallet_account_id)
    already = await earned_today(
        session, float_account_id=float_account_id, wallet_account_id=wallet_account_id, now=now
    )
    left = cap - already
    if left <= 0:
        raise DailyCapReached(
            f"This shopper already earned {already} points here today; the daily maximum is {cap}.",
            daily_cap_points=cap,
            earned_today=already,
        )
    if points > left:
        return left, True
    return points, False
