"""The scheme's liability: the points shoppers hold, and what they are worth."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.ledger.models import Account, AccountBalance, AccountType, Entry
from backend.tenants.models import Tenant


async def liability(session: AsyncSession, *, tenant: Tenant) -> dict[str, Any]:
    tenant_id = tenant.id
    by_type = {
        row.type: (int(row.balance), int(row.pending))
        for row in (
            await session.execute(
                select(Account.type, func.sum(AccountBalance.balance).label("balance"),
                       func.sum(AccountBalance.pending).label("pending"))
                .join(Account, Account.id == AccountBalance.account_id)
                .where(AccountBalance.tenant_id == tenant_id)
                .group_by(Account.type)
            )
        ).all()
    }
    # The same figure from the entries themselves, not the cached balances.
    from_entries = await session.scalar(
        select(func.coalesce(func.sum(Entry.amount), 0))
        .join(Account, Account.id == Entry.account_id)
        .where(Entry.tenant_id == tenant_id, Account.type == AccountType.SHOPPER_WALLET.value)
    )
    wallets, reserved = by_type.get(AccountType.SHOPPER_WALLET.value, (0, 0))
    pv = tenant.point_value_cents
    owed = by_type.get(AccountType.MERCHANT_REDEEMED.value, (0, 0))[0]
    return {
        "outstanding_points": wallets,
        "reserved_points": reserved,
        "outstanding_cents": wallets * pv,
        "point_value_cents": pv,
        "entries_points": int(from_entries or 0),
        "consistent": int(from_entries or 0) == wallets,
        "owed_to_merchants_points": owed,
        "owed_to_merchants_cents": owed * pv,
        "positions": {account_type.value: by_type.get(account_type.value, (0, 0))[0] for account_type in AccountType},
    }
