"""Opening accounts, the flows allowed between account types, and account metadata.

An account's tenant, type and shard count never change after it is opened, so the hot
path keeps them in a small per-process cache instead of reading the account row on
every transfer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.ledger.errors import AccountExists, AccountNotFound, FlowNotAllowed
from backend.ledger.models import Account, AccountBalance, AccountType

account_table = Account.__table__
balance_table = AccountBalance.__table__

# Hot accounts are split over shards so concurrent transfers lock different rows.
DEFAULT_SHARDS: dict[AccountType, int] = {
    AccountType.FUNDING: 8,
    AccountType.MERCHANT_FLOAT: 16,
    AccountType.CAMPAIGN_BUDGET: 16,
    AccountType.SHOPPER_WALLET: 1,
    AccountType.MERCHANT_REDEEMED: 8,
    AccountType.PAYOUTS: 1,
    AccountType.BREAKAGE: 8,
}

# kind -> (debited type, credited type). A reversal runs the original flow backwards.
FLOWS: dict[str, tuple[AccountType, AccountType]] = {
    "topup": (AccountType.FUNDING, AccountType.MERCHANT_FLOAT),
    # Stripe refunds and disputes take paid points back out of a float, possibly in several
    # steps (a reversal can happen only once per transfer), and collect a recorded float debt.
    "float_clawback": (AccountType.MERCHANT_FLOAT, AccountType.FUNDING),
    "budget": (AccountType.FUNDING, AccountType.CAMPAIGN_BUDGET),
    "budget_return": (AccountType.CAMPAIGN_BUDGET, AccountType.FUNDING),
    "earn": (AccountType.MERCHANT_FLOAT, AccountType.SHOPPER_WALLET),
    "bonus": (AccountType.CAMPAIGN_BUDGET, AccountType.SHOPPER_WALLET),
    "redeem": (AccountType.SHOPPER_WALLET, AccountType.MERCHANT_REDEEMED),
    "payout": (AccountType.MERCHANT_REDEEMED, AccountType.PAYOUTS),
    "expiry": (AccountType.SHOPPER_WALLET, AccountType.BREAKAGE),
    "forfeit": (AccountType.SHOPPER_WALLET, AccountType.BREAKAGE),
    "wallet_merge": (AccountType.SHOPPER_WALLET, AccountType.SHOPPER_WALLET),
}
REVERSAL_KIND = "reversal"
TRANSFER_KINDS = frozenset(FLOWS)
HOLD_KINDS = frozenset({"redeem"})

SINGLETON_TYPES = (AccountType.FUNDING, AccountType.PAYOUTS, AccountType.BREAKAGE)


@dataclass(frozen=True, slots=True)
class AccountMeta:
    id: int
    tenant_id: int
    type: AccountType
    shard_count: int


# One cache per engine: tests talk to several databases from one process.
_meta_caches: WeakKeyDictionary[Any, dict[int, AccountMeta]] = WeakKeyDictionary()
_META_CACHE_LIMIT = 200_000


def _cache_for(session: AsyncSession) -> dict[int, AccountMeta]:
    engine = session.bind.sync_engine
    cache = _meta_caches.get(engine)
    if cache is None:
        cache = _meta_caches[engine] = {}
    return cache


_meta_query = select(
    account_table.c.id, account_table.c.tenant_id, account_table.c.type, account_table.c.shard_count
).where(account_table.c.id.in_(bindparam("ids", expanding=True)))


async def account_metas(
    session: AsyncSession, *, tenant_id: int, account_ids: tuple[int, ...]
) -> dict[int, AccountMeta]:
    """Metadata of accounts of ``tenant_id``; an unknown or foreign account is a 404."""
    cache = _cache_for(session)
    found: dict[int, AccountMeta] = {}
    missing: list[int] = []
    for account_id in account_ids:
        meta = cache.get(account_id)
        if meta is None:
            missing.append(account_id)
        else:
            found[account_id] = meta
    if missing:
        rows = (await session.execute(_meta_query, {"ids": missing})).all()
        if len(cache) > _META_CACHE_LIMIT:
            cache.clear()
        for row in rows:
            meta = AccountMeta(row.id, row.tenant_id, AccountType(row.type), row.shard_count)
            cache[row.id] = meta
            found[row.id] = meta
    for account_id in account_ids:
        meta = found.get(account_id)
        if meta is None or meta.tenant_id != tenant_id:
            raise AccountNotFound(f"Account {account_id} does not exist in this municipality.")
    return found


def check_flow(kind: str, debit: AccountMeta, credit: AccountMeta) -> None:
    flow = FLOWS.get(kind)
    if flow is None:
        raise FlowNotAllowed(f"Unknown transfer kind {kind!r}.")
    if (debit.type, credit.type) != flow:
        raise FlowNotAllowed(
            f"A {kind!r} transfer moves points from a {flow[0].value} account to a "
            f"{flow[1].value} account, not from {debit.type.value} to {credit.type.value}."
        )


def slot_floors(*, account_type: AccountType, credit_limit: int, shard_count: int) -> list[int | None]:
    """The lowest balance-minus-pending each shard may reach; together they make -credit_limit."""
    if account_type == AccountType.FUNDING:
        return [None] * shard_count
    share, remainder = divmod(credit_limit, shard_count)
    floors = [-share] * shard_count
    floors[0] -= remainder
    return floors


async def open_account(
    session: AsyncSession,
    *,
    tenant_id: int,
    account_type: AccountType,
    name: str,
    code: str,
    merchant_id: int | None = None,
    shopper_id: int | None = None,
    shard_count: int | None = None,
    credit_limit: int = 0,
) -> Account:
    shards = shard_count or DEFAULT_SHARDS[account_type]
    account = Account(
        tenant_id=tenant_id,
        type=account_type.value,
        code=code,
        name=name,
        merchant_id=merchant_id,
        shopper_id=shopper_id,
        shard_count=shards,
        unbounded=account_type == AccountType.FUNDING,
        credit_limit=credit_limit if account_type == AccountType.MERCHANT_FLOAT else 0,
    )
    try:
        async with session.begin_nested():
            session.add(account)
            await session.flush()
    except IntegrityError as exc:
        raise AccountExists(f"Account code {code!r} is already taken.") from exc
    floors = slot_floors(account_type=account_type, credit_limit=account.credit_limit, shard_count=shards)
    await session.execute(
        insert(balance_table),
        [
            {"account_id": account.id, "slot": slot, "tenant_id": tenant_id, "balance": 0, "pending": 0, "floor": floor}
            for slot, floor in enumerate(floors)
        ],
    )
    return account


async def open_tenant_accounts(session: AsyncSession, *, tenant_id: int) -> dict[AccountType, Account]:
    names = {
        AccountType.FUNDING: "Funding (money received)",
        AccountType.PAYOUTS: "Payouts (money paid out)",
        AccountType.BREAKAGE: "Breakage (expired points)",
    }
    return {
        account_type: await open_account(
            session, tenant_id=tenant_id, account_type=account_type, name=names[account_type], code=account_type.value
        )
        for account_type in SINGLETON_TYPES
    }


async def open_merchant_accounts(
    session: AsyncSession, *, tenant_id: int, merchant_id: int, merchant_name: str, credit_limit: int = 0
) -> tuple[Account, Account]:
    float_account = await open_account(
        session,
        tenant_id=tenant_id,
        account_type=AccountType.MERCHANT_FLOAT,
        name=f"Float {merchant_name}",
        code=f"merchant:{merchant_id}:float",
        merchant_id=merchant_id,
        credit_limit=credit_limit,
    )
    redeemed_account = await open_account(
        session,
        tenant_id=tenant_id,
        account_type=AccountType.MERCHANT_REDEEMED,
        name=f"Redeemed at {merchant_name}",
        code=f"merchant:{merchant_id}:redeemed",
        merchant_id=merchant_id,
    )
    return float_account, redeemed_account


async def open_shopper_wallet(session: AsyncSession, *, tenant_id: int, shopper_id: int) -> Account:
    return await open_account(
        session,
        tenant_id=tenant_id,
        account_type=AccountType.SHOPPER_WALLET,
        name=f"Wallet of shopper {shopper_id}",
        code=f"shopper:{shopper_id}:wallet",
        shopper_id=shopper_id,
    )


async def find_account(
    session: AsyncSession,
    *,
    tenant_id: int,
    code: str,
) -> Account:
    account = (
        await session.execute(select(Account).where(Account.tenant_id == tenant_id, Account.code == code))
    ).scalar_one_or_none()
    if account is None:
        raise AccountNotFound(f"No account {code!r} in this municipality.")
    return account


async def get_account(session: AsyncSession, *, tenant_id: int, account_id: int) -> Account:
    account = await session.get(Account, account_id)
    if account is None or account.tenant_id != tenant_id:
        raise AccountNotFound(f"Account {account_id} does not exist in this municipality.")
    return account
