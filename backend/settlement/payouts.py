"""Payout runs: what each merchant is owed at the latest close, as a SEPA file, then paid.

A run pays a merchant its amount owed at the period's close minus what earlier runs
exported but the closed periods had not yet seen paid, so confirming late never pays twice.
Confirming posts one ``payout`` transfer (merchant redeemed -> payouts) per payout, each
under its own idempotency key: confirming twice changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.types import utcnow
from backend.ledger import service as ledger
from backend.ledger.errors import InsufficientFunds
from backend.merchants.models import Merchant
from backend.settlement.errors import (
    BankAccountMissing,
    MerchantIbanInvalid,
    NothingToPay,
    PayoutExceedsOwed,
    PayoutRunNotFound,
    PeriodOutOfOrder,
)
from backend.settlement.iban import iban_problem, normalize_iban
from backend.settlement.models import (
    Payout,
    PayoutBatch,
    PayoutStatus,
    SettlementLine,
    SettlementPeriod,
    SettlementStatement,
)
from backend.settlement.sepa import Transaction, credit_transfer_xml
from backend.settlement.service import get_period
from backend.tenants.models import Tenant


async def get_batch(session: AsyncSession, *, tenant_id: int, period_id: int) -> PayoutBatch:
    await get_period(session, tenant_id=tenant_id, period_id=period_id)
    batch = (
        await session.execute(
            select(PayoutBatch).where(PayoutBatch.tenant_id == tenant_id, PayoutBatch.period_id == period_id)
        )
    ).scalar_one_or_none()
    if batch is None:
        raise PayoutRunNotFound(f"Period {period_id} has no payout run yet.")
    return batch


async def batch_payouts(session: AsyncSession, *, batch: PayoutBatch) -> list[Payout]:
    query = select(Payout).where(Payout.batch_id == batch.id).order_by(Payout.merchant_id)
    return list((await session.execute(query)).scalars())


async def _unsettled_earlier(session: AsyncSession, *, tenant_id: int, merchant_id: int) -> int:
    """Points of earlier payouts that the closed periods do not count as paid yet."""
    line = SettlementLine.__table__
    total = await session.scalar(
        select(func.coalesce(func.sum(Payout.points), 0)).where(
            Payout.tenant_id == tenant_id,
            Payout.merchant_id == merchant_id,
            (Payout.transfer_id.is_(None))
            | ~exists().where(line.c.tenant_id == tenant_id, line.c.transfer_id == Payout.transfer_id),
        )
    )
    return int(total or 0)


async def run_payouts(
    session: AsyncSession, *, tenant_id: int, period_id: int, user_id: int | None, now: datetime | None = None
) -> tuple[PayoutBatch, bool]:
    now = now or utcnow()
    period = await get_period(session, tenant_id=tenant_id, period_id=period_id)
    existing = (
        await session.execute(select(PayoutBatch).where(PayoutBatch.period_id == period_id))
    ).scalar_one_or_none()
    if existing is not None:
        return existing, False
    later = await session.scalar(
        select(func.count()).select_from(SettlementPeriod).where(
            SettlementPeriod.tenant_id == tenant_id,
            (SettlementPeriod.year * 12 + SettlementPeriod.month) > period.year * 12 + period.month,
        )
    )
    if later:
        raise PeriodOutOfOrder("Pay out from the latest closed period: it includes everything still owed.")
    tenant = await session.get(Tenant, tenant_id)
    assert tenant is not None
    if iban_problem(tenant.iban):
        raise BankAccountMissing("Set the municipality's IBAN (PUT /api/v1/settlement/bank-account) first.")
    statements = (
        await session.execute(
            select(SettlementStatement, Merchant)
            .join(Merchant, Merchant.id == SettlementStatement.merchant_id)
            .where(SettlementStatement.period_id == period_id, SettlementStatement.owed_closing > 0)
            .order_by(SettlementStatement.merchant_id)
        )
    ).all()
    due = []
    for statement, merchant in statements:
        points = statement.owed_closing - await _unsettled_earlier(
            session, tenant_id=tenant_id, merchant_id=merchant.id  # type: ignore[arg-type]
        )
        if points > 0:
            due.append((statement, merchant, points))
    if not due:
        raise NothingToPay(f"No merchant is owed anything at the close of {period.year}-{period.month:02d}.")
    problems = [
        {"merchant_id": merchant.id, "name": merchant.name, "problem": problem}
        for _, merchant, _ in due
        if (problem := iban_problem(merchant.iban))
    ]
    if problems:
        raise MerchantIbanInvalid(
            "Fix these merchants' IBANs, then run the payouts again: "
            + "; ".join(f"{p['name']} ({p['problem']})" for p in problems),
            merchants=problems,
        )
    message_id = f"KP-{tenant_id}-{period.year}{period.month:02d}-{period.id}"[:35]
    payouts = [
        Payout(
            tenant_id=tenant_id, batch_id=0, period_id=period_id, merchant_id=merchant.id,  # type: ignore[arg-type]
            statement_id=statement.id, points=points,  # type: ignore[arg-type]
            amount_cents=points * statement.point_value_cents,
            creditor_name=merchant.name[:140], creditor_iban=normalize_iban(merchant.iban or ""),
            end_to_end_id=f"KP-{period.id}-{merchant.id}"[:35],
        )
        for statement, merchant, points in due
    ]
    xml = credit_transfer_xml(
        message_id=message_id,
        created_at=now,
        execution_date=now.astimezone(ZoneInfo(tenant.timezone)).date(),
        debtor_name=tenant.name,
        debtor_iban=normalize_iban(tenant.iban or ""),
        debtor_bic=tenant.bic,
        transactions=[
            Transaction(
                end_to_end_id=p.end_to_end_id,
                amount_cents=p.amount_cents,
                creditor_name=p.creditor_name,
                creditor_iban=p.creditor_iban,
                remittance=f"Kernpunt {period.year}-{period.month:02d} {p.points} punten/points",
            )
            for p in payouts
        ],
    )
    batch = PayoutBatch(
        tenant_id=tenant_id, period_id=period_id, message_id=message_id, payout_count=len(payouts),
        total_cents=sum(p.amount_cents for p in payouts), debtor_name=tenant.name[:140],
        debtor_iban=normalize_iban(tenant.iban or ""), debtor_bic=tenant.bic, xml=xml,
        created_by_user_id=user_id, created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(batch)
            await session.flush()
    except IntegrityError:
        existing = (
            await session.execute(select(PayoutBatch).where(PayoutBatch.period_id == period_id))
        ).scalar_one_or_none()
        if existing is None:
            raise
        return existing, False
    for payout in payouts:
        payout.batch_id = batch.id  # type: ignore[assignment]
        session.add(payout)
    await session.flush()
    return batch, True


async def confirm_payouts(
    session: AsyncSession, *, tenant_id: int, period_id: int, user_id: int | None, now: datetime | None = None
) -> PayoutBatch:
    """The bank paid the file: post the ledger payouts (once) and mark everything paid."""
    now = now or utcnow()
    batch = await get_batch(session, tenant_id=tenant_id, period_id=period_id)
    payouts = (
        await session.execute(select(Payout).where(Payout.batch_id == batch.id).order_by(Payout.id).with_for_update())
    ).scalars().all()
    payouts_account = await ledger.find_account(session, tenant_id=tenant_id, code="payouts")
    for payout in payouts:
        if payout.status == PayoutStatus.PAID:
            continue
        redeemed = await ledger.find_account(session, tenant_id=tenant_id, code=f"merchant:{payout.merchant_id}:redeemed")
        try:
            transfer = await ledger.post_transfer(
                session,
                tenant_id=tenant_id,
                idempotency_key=f"settlement:payout:{payout.id}",
                kind="payout",
                debit_account_id=redeemed.id,  # type: ignore[arg-type]
                credit_account_id=payouts_account.id,  # type: ignore[arg-type]
                amount=payout.points,
                description=f"Payout {batch.message_id} to {payout.creditor_name}",
                meta={"payout_id": payout.id, "period_id": period_id, "merchant_id": payout.merchant_id},
                created_by_user_id=user_id,
                now=now,
            )
        except InsufficientFunds as exc:
            raise PayoutExceedsOwed(
                f"Merchant {payout.merchant_id} is now owed less than the {payout.points} points paid "
                "(a redemption was reversed after the close); correct it with the municipality's bookkeeping.",
                merchant_id=payout.merchant_id,
            ) from exc
        payout.status = PayoutStatus.PAID
        payout.transfer_id = transfer.id
        payout.paid_at = now
        session.add(payout)
    if batch.status != PayoutStatus.PAID:
        batch.status = PayoutStatus.PAID
        batch.confirmed_at = now
        batch.confirmed_by_user_id = user_id
        session.add(batch)
    await session.flush()
    return batch
