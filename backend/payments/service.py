"""Top-ups: the Checkout Session a shop owner pays, and the ledger that follows Stripe.

Stripe's facts about a top-up (paid, refunded and disputed cents) are only ever raised by
events; ``sync_ledger`` then makes the ledger match them, whatever order the events came
in. Every ledger step has an idempotency key derived from the top-up and from how far the
step had got, so running it twice posts nothing twice.

Refunds and disputes take points back with ``float_clawback`` transfers (float -> funding),
one per step: a ledger reversal can happen only once per transfer, while a payment can be
refunded in several parts. Points taken back round up (``ceil(cents / point value)``),
never beyond what was credited: the shop got that money back, so its float returns at
least the points the money bought. What the float no longer holds (it was spent at the
till) is not forced below zero: it becomes a ``FloatDebt`` the next paid top-up repays first.
A dispute the municipality wins lowers what is due back again; what was taken beyond that
is given back (``disputes.give_back``: open debt cancelled, clawbacks reversed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.errors import IdempotencyKeyReused
from backend.core.idempotency import request_fingerprint
from backend.core.types import utcnow
from backend.ledger import service as ledger
from backend.ledger.errors import InsufficientFunds
from backend.merchants.models import Merchant, MerchantStatus
from backend.payments.disputes import CLAWBACK_KIND, give_back, net_taken_back
from backend.payments.errors import (
    AmountNotWholePoints,
    AmountOutOfRange,
    MerchantNotActive,
    MerchantNotFound,
    TopUpNotFound,
)
from backend.payments.gateway import StripeGateway
from backend.payments.models import FloatDebt, TopUp, TopUpStatus
from backend.tenants.models import Tenant

MIN_TOPUP_CENTS = 50  # Stripe's minimum charge in euro
MAX_TOPUP_CENTS = 10_000_000  # EUR 100,000: far above any shop's month of points


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


async def get_merchant(session: AsyncSession, *, tenant_id: int, merchant_id: int) -> Merchant:
    merchant = await session.get(Merchant, merchant_id)
    if merchant is None or merchant.tenant_id != tenant_id:
        raise MerchantNotFound(f"Merchant {merchant_id} does not exist in this municipality.")
    return merchant


async def get_topup(session: AsyncSession, *, tenant_id: int, topup_id: int, lock: bool = False) -> TopUp:
    query = select(TopUp).where(TopUp.tenant_id == tenant_id, TopUp.id == topup_id)
    if lock:
        query = query.with_for_update()
    topup = (await session.execute(query)).scalar_one_or_none()
    if topup is None:
        raise TopUpNotFound(f"Top-up {topup_id} does not exist in this municipality.")
    return topup


async def create_topup(
    session: AsyncSession,
    *,
    gateway: StripeGateway,
    tenant_id: int,
    merchant_id: int,
    amount_cents: int,
    idempotency_key: str,
    user_id: int | None,
    return_base_url: str,
    customer_email: str | None = None,
) -> TopUp:
    gateway.require_client()
    fingerprint = request_fingerprint("topup", {"merchant": merchant_id, "amount_cents": amount_cents})
    existing = await _by_key(session, tenant_id=tenant_id, idempotency_key=idempotency_key)
    if existing is not None:
        return _replay(existing, fingerprint)
    merchant = await get_merchant(session, tenant_id=tenant_id, merchant_id=merchant_id)
    if merchant.status != MerchantStatus.ACTIVE:
        raise MerchantNotActive(f"{merchant.name} is {merchant.status}; it cannot buy float.")
    tenant = await session.get(Tenant, tenant_id)
    assert tenant is not None
    if not MIN_TOPUP_CENTS <= amount_cents <= MAX_TOPUP_CENTS:
        raise AmountOutOfRange(
            f"A top-up is between {MIN_TOPUP_CENTS} and {MAX_TOPUP_CENTS} cents.",
            min_cents=MIN_TOPUP_CENTS,
            max_cents=MAX_TOPUP_CENTS,
        )
    if amount_cents % tenant.point_value_cents:
        raise AmountNotWholePoints(
            f"A point is worth {tenant.point_value_cents} cents here; choose a multiple of that.",
            point_value_cents=tenant.point_value_cents,
        )
    now = utcnow()
    topup = TopUp(
        tenant_id=tenant_id,
        merchant_id=merchant_id,
        idempotency_key=idempotency_key,
        request_hash=fingerprint,
        amount_cents=amount_cents,
        points=amount_cents // tenant.point_value_cents,
        created_by_user_id=user_id,
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(topup)
            await session.flush()
    except IntegrityError:
        # The same key sent twice at once: the first committed, this one finds it.
        existing = await _by_key(session, tenant_id=tenant_id, idempotency_key=idempotency_key)
        if existing is None:
            raise
        return _replay(existing, fingerprint)
    base = return_base_url.rstrip("/")
    checkout = await gateway.create_checkout_session(
        amount_cents=amount_cents,
        description=f"Kernpunt float {merchant.name}: {topup.points} points",
        metadata={"tenant_id": str(tenant_id), "merchant_id": str(merchant_id), "topup_id": str(topup.id)},
        success_url=f"{base}/merchant/?topup={topup.id}&checkout=success",
        cancel_url=f"{base}/merchant/?topup={topup.id}&checkout=cancel",
        idempotency_key=f"kernpunt-topup-{tenant_id}-{topup.id}",
        customer_email=customer_email,
    )
    topup.checkout_session_id = checkout.id
    topup.checkout_url = checkout.url
    topup.payment_intent_id = checkout.payment_intent_id
    session.add(topup)
    await session.flush()
    return topup


async def _by_key(session: AsyncSession, *, tenant_id: int, idempotency_key: str) -> TopUp | None:
    return (
        await session.execute(
            select(TopUp).where(TopUp.tenant_id == tenant_id, TopUp.idempotency_key == idempotency_key)
        )
    ).scalar_one_or_none()


def _replay(existing: TopUp, fingerprint: str) -> TopUp:
    if existing.request_hash != fingerprint:
        raise IdempotencyKeyReused("This Idempotency-Key was already used for another top-up; use a new key.")
    return existing


async def list_topups(
    session: AsyncSession, *, tenant_id: int, merchant_id: int, limit: int, before_id: int | None
) -> list[TopUp]:
    query = (
        select(TopUp)
        .where(TopUp.tenant_id == tenant_id, TopUp.merchant_id == merchant_id)
        .order_by(TopUp.id.desc())
        .limit(limit + 1)
    )
    if before_id is not None:
        query = query.where(TopUp.id < before_id)
    return list((await session.execute(query)).scalars())


@dataclass(frozen=True, slots=True)
class _Accounts:
    funding: int
    float: int


async def _accounts(session: AsyncSession, *, tenant_id: int, merchant_id: int) -> _Accounts:
    funding = await ledger.find_account(session, tenant_id=tenant_id, code="funding")
    float_account = await ledger.find_account(session, tenant_id=tenant_id, code=f"merchant:{merchant_id}:float")
    return _Accounts(funding=funding.id, float=float_account.id)  # type: ignore[arg-type]


async def _float_available(session: AsyncSession, *, tenant_id: int, account_id: int, now: datetime) -> int:
    """What the float itself holds (open holds excluded); the credit limit is not counted."""
    balance = (await ledger.get_balances(session, tenant_id=tenant_id, account_ids=[account_id], now=now))[account_id]
    return max(balance.available, 0)


async def _take_from_float(
    session: AsyncSession,
    *,
    tenant_id: int,
    accounts: _Accounts,
    wanted: int,
    key: str,
    meta: dict[str, object],
    description: str,
    now: datetime,
) -> int:
    """Move up to ``wanted`` points float -> funding without going below zero; returns how many."""
    take = min(wanted, await _float_available(session, tenant_id=tenant_id, account_id=accounts.float, now=now))
    for _ in range(3):
        if take <= 0:
            return 0
        try:
            async with session.begin_nested():
                await ledger.post_transfer(
                    session,
                    tenant_id=tenant_id,
                    idempotency_key=f"{key}:{take}",
                    kind=CLAWBACK_KIND,
                    debit_account_id=accounts.float,
                    credit_account_id=accounts.funding,
                    amount=take,
                    description=description,
                    meta=meta,
                    now=now,
                )
            return take
        except InsufficientFunds as exc:
            # An earn at the till got there first; take what is left now.
            take = min(take, int(exc.extra.get("available", 0)))
    return 0


def returned_cents(topup: TopUp) -> int:
    """Cents the municipality gave back or lost in a dispute it did not win, within what was paid."""
    disputed = max(topup.disputed_cents - topup.reinstated_cents, 0)
    return min(topup.refunded_cents + disputed, topup.paid_cents)


def points_due_back(topup: TopUp, *, credited: int, point_value_cents: int) -> int:
    return min(credited, _ceil_div(returned_cents(topup), point_value_cents))


async def sync_ledger(session: AsyncSession, *, topup: TopUp, now: datetime | None = None) -> None:
    """Make the ledger match what Stripe reported about ``topup`` (call with the row locked)."""
    now = now or utcnow()
    tenant = await session.get(Tenant, topup.tenant_id)
    assert tenant is not None
    pv = tenant.point_value_cents
    accounts = await _accounts(session, tenant_id=topup.tenant_id, merchant_id=topup.merchant_id)
    meta = {
        "topup_id": topup.id,
        "merchant_id": topup.merchant_id,
        "payment_intent_id": topup.payment_intent_id,
        "checkout_session_id": topup.checkout_session_id,
    }
    credited = topup.points if topup.credit_transfer_id is not None else 0
    if topup.paid_cents > 0 and topup.credit_transfer_id is None:
        # Never credit more than was paid (a mismatch is flagged by reconciliation).
        credited = min(topup.points, topup.paid_cents // pv)
        if credited > 0:
            transfer = await ledger.post_transfer(
                session,
                tenant_id=topup.tenant_id,
                idempotency_key=f"stripe:topup:{topup.id}:credit",
                kind="topup",
                debit_account_id=accounts.funding,
                credit_account_id=accounts.float,
                amount=credited,
                description=f"Float top-up {topup.id} paid through Stripe",
                meta=meta,
                now=now,
            )
            topup.credit_transfer_id = transfer.id
            topup.status = TopUpStatus.PAID
            topup.paid_at = topup.paid_at or now
            await _collect_debts(session, tenant_id=topup.tenant_id, merchant_id=topup.merchant_id,
                                 accounts=accounts, now=now)
    if topup.credit_transfer_id is not None:
        credited = (await ledger.get_transfer(
            session, tenant_id=topup.tenant_id, transfer_id=topup.credit_transfer_id
        )).amount
        due = points_due_back(topup, credited=credited, point_value_cents=pv) - net_taken_back(topup)
        if due < 0:
            await give_back(
                session,
                topup=topup,
                float_account_id=accounts.float,
                points=-due,
                meta={**meta, "disputed_cents": topup.disputed_cents, "reinstated_cents": topup.reinstated_cents},
                now=now,
            )
        if due > 0:
            taken = await _take_from_float(
                session,
                tenant_id=topup.tenant_id,
                accounts=accounts,
                wanted=due,
                # The gross counters only grow, so a step after a won dispute gets a new key.
                key=f"stripe:topup:{topup.id}:clawback:{topup.clawed_back_points + topup.debt_points}",
                meta={**meta, "refunded_cents": topup.refunded_cents, "disputed_cents": topup.disputed_cents},
                description=f"Refund or dispute of float top-up {topup.id}",
                now=now,
            )
            topup.clawed_back_points += taken
            if due > taken:
                topup.debt_points += due - taken
                session.add(FloatDebt(
                    tenant_id=topup.tenant_id, merchant_id=topup.merchant_id, topup_id=topup.id,  # type: ignore[arg-type]
                    points=due - taken, created_at=now,
                ))
        if net_taken_back(topup) >= credited:
            topup.status = TopUpStatus.REFUNDED
        elif topup.status == TopUpStatus.REFUNDED:
            topup.status = TopUpStatus.PAID  # a won dispute gave the points back
    topup.updated_at = now
    session.add(topup)
    await session.flush()


async def _collect_debts(
    session: AsyncSession, *, tenant_id: int, merchant_id: int, accounts: _Accounts, now: datetime
) -> None:
    debts = (
        await session.execute(
            select(FloatDebt)
            .where(FloatDebt.tenant_id == tenant_id, FloatDebt.merchant_id == merchant_id,
                   FloatDebt.settled_at.is_(None))
            .order_by(FloatDebt.id)
            .with_for_update()
        )
    ).scalars().all()
    for debt in debts:
        taken = await _take_from_float(
            session,
            tenant_id=tenant_id,
            accounts=accounts,
            wanted=debt.points - debt.collected_points - debt.cancelled_points,
            key=f"float_debt:{debt.id}:collect:{debt.collected_points}",
            meta={"float_debt_id": debt.id, "topup_id": debt.topup_id, "merchant_id": merchant_id},
            description=f"Repayment of float debt {debt.id}",
            now=now,
        )
        if taken == 0:
            break
        debt.collected_points += taken
        if debt.collected_points + debt.cancelled_points == debt.points:
            debt.settled_at = now
        session.add(debt)
    await session.flush()


async def open_debt_points(session: AsyncSession, *, tenant_id: int, merchant_id: int) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(FloatDebt.points - FloatDebt.collected_points - FloatDebt.cancelled_points), 0)).where(
            FloatDebt.tenant_id == tenant_id, FloatDebt.merchant_id == merchant_id, FloatDebt.settled_at.is_(None)
        )
    )
    return int(total or 0)
