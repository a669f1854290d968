"""The ledger's public service API: accounts, transfers, holds, reversals and reads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.types import utcnow
from backend.ledger import balances as _balances
from backend.ledger.accounts import (  # noqa: F401  (re-exported)
    FLOWS,
    REVERSAL_KIND,
    AccountMeta,
    account_metas,
    find_account,
    get_account,
    open_account,
    open_merchant_accounts,
    open_shopper_wallet,
    open_tenant_accounts,
    slot_floors,
)
from backend.ledger.balances import Balance
from backend.ledger.errors import CreditLimitTooLow, FlowNotAllowed, InvalidAmount
from backend.ledger.holds import (  # noqa: F401
    capture_hold,
    create_hold,
    effective_status,
    expire_overdue_holds,
    get_hold,
    overdue_pending,
    void_hold,
)
from backend.ledger.models import Account, AccountType, Entry, Hold, HoldStatus, Transfer
from backend.ledger.transfers import (  # noqa: F401
    PostedTransfer,
    get_transfer,
    post_transfer,
    reverse_transfer,
)


async def get_balances(
    session: AsyncSession, *, tenant_id: int, account_ids: list[int], now: datetime | None = None
) -> dict[int, Balance]:
    """Balances as a reader should see them: holds that have run out no longer count."""
    now = now or utcnow()
    cached = await _balances.balances(session, tenant_id=tenant_id, account_ids=account_ids)
    overdue = await overdue_pending(session, account_ids=list(cached), now=now)
    return {
        account_id: Balance(
            account_id=account_id,
            balance=value.balance,
            pending=value.pending - overdue.get(account_id, 0),
            floor=value.floor,
        )
        for account_id, value in cached.items()
    }


async def get_balance(session: AsyncSession, *, tenant_id: int, account_id: int) -> Balance:
    await get_account(session, tenant_id=tenant_id, account_id=account_id)
    return (await get_balances(session, tenant_id=tenant_id, account_ids=[account_id]))[account_id]


async def set_credit_limit(session: AsyncSession, *, tenant_id: int, account_id: int, credit_limit: int) -> Account:
    """Let a merchant float go below zero down to ``-credit_limit`` (a debt to the municipality)."""
    if isinstance(credit_limit, bool) or credit_limit < 0:
        raise InvalidAmount("A credit limit is zero or a positive number of points.")
    account = await get_account(session, tenant_id=tenant_id, account_id=account_id)
    if account.type != AccountType.MERCHANT_FLOAT:
        raise FlowNotAllowed("Only a merchant float can have a credit limit.")
    floors = slot_floors(
        account_type=AccountType.MERCHANT_FLOAT, credit_limit=credit_limit, shard_count=account.shard_count
    )
    if not await _balances.set_floors(session, account_id=account_id, floors=floors):
        raise CreditLimitTooLow("The float already uses more credit than the new limit allows.")
    account.credit_limit = credit_limit
    session.add(account)
    await session.flush()
    return account


async def list_accounts(
    session: AsyncSession,
    *,
    tenant_id: int,
    limit: int,
    before_id: int | None = None,
    account_type: AccountType | None = None,
    merchant_id: int | None = None,
    shopper_id: int | None = None,
) -> list[Account]:
    query = select(Account).where(Account.tenant_id == tenant_id).order_by(Account.id.desc()).limit(limit + 1)
    if before_id is not None:
        query = query.where(Account.id < before_id)
    if account_type is not None:
        query = query.where(Account.type == account_type.value)
    if merchant_id is not None:
        query = query.where(Account.merchant_id == merchant_id)
    if shopper_id is not None:
        query = query.where(Account.shopper_id == shopper_id)
    return list((await session.execute(query)).scalars())


async def list_transfers(
    session: AsyncSession,
    *,
    tenant_id: int,
    limit: int,
    before_id: int | None = None,
    account_id: int | None = None,
    kind: str | None = None,
) -> list[Transfer]:
    query = select(Transfer).where(Transfer.tenant_id == tenant_id).order_by(Transfer.id.desc()).limit(limit + 1)
    if before_id is not None:
        query = query.where(Transfer.id < before_id)
    if account_id is not None:
        query = query.where((Transfer.debit_account_id == account_id) | (Transfer.credit_account_id == account_id))
    if kind is not None:
        query = query.where(Transfer.kind == kind)
    return list((await session.execute(query)).scalars())


async def list_entries(
    session: AsyncSession, *, tenant_id: int, account_id: int, limit: int, before_id: int | None = None
) -> list[tuple[Entry, Transfer]]:
    await get_account(session, tenant_id=tenant_id, account_id=account_id)
    query = (
        select(Entry, Transfer)
        .join(Transfer, Transfer.id == Entry.transfer_id)
        .where(Entry.tenant_id == tenant_id, Entry.account_id == account_id)
        .order_by(Entry.id.desc())
        .limit(limit + 1)
    )
    if before_id is not None:
        query = query.where(Entry.id < before_id)
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def list_holds(
    session: AsyncSession,
    *,
    tenant_id: int,
    limit: int,
    before_id: int | None = None,
    account_id: int | None = None,
    status: str | None = None,
    now: datetime | None = None,
) -> list[Hold]:
    query = select(Hold).where(Hold.tenant_id == tenant_id).order_by(Hold.id.desc()).limit(limit + 1)
    if before_id is not None:
        query = query.where(Hold.id < before_id)
    if account_id is not None:
        query = query.where(Hold.debit_account_id == account_id)
    if status is not None:
        # Filter on the status a reader is shown: an overdue hold the sweeper has not
        # marked yet is expired, not pending (see holds.effective_status).
        now = now or utcnow()
        overdue = (Hold.status == HoldStatus.PENDING.value) & (Hold.expires_at <= now)
        if status == HoldStatus.PENDING:
            query = query.where(Hold.status == status, Hold.expires_at > now)
        elif status == HoldStatus.EXPIRED:
            query = query.where((Hold.status == status) | overdue)
        else:
            query = query.where(Hold.status == status)
    return list((await session.execute(query)).scalars())
