"""What a shopper sees of their wallet (balance, holds, expiring points, history) and
the public list of participating shops."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime

import orjson
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import Principal
from backend.core.pagination import InvalidCursor
from backend.core.types import utcnow
from backend.ledger import service as ledger
from backend.ledger.models import Account, Entry, Hold, HoldStatus
from backend.merchants.models import FUN_SHOPPING, RUN_SHOPPING, Merchant, MerchantStatus
from backend.tenants.errors import TenantNotFound
from backend.tenants.models import Tenant
from backend.wallets.accounts import current_shopper
from backend.wallets.lots import Movement, expiring_by_day, open_lots
from backend.wallets.models import Shopper


def wallet_code(shopper_id: int) -> str:
    return f"shopper:{shopper_id}:wallet"


@dataclass(frozen=True, slots=True)
class HoldView:
    hold_id: int
    points: int
    merchant_name: str | None
    expires_at: datetime
    created_at: datetime


@dataclass(frozen=True, slots=True)
class WalletView:
    balance: int
    pending: int
    available: int
    point_value_cents: int
    holds: list[HoldView]
    expiring: list[tuple[date, int]]

    @property
    def value_cents(self) -> int:
        return self.balance * self.point_value_cents


@dataclass(frozen=True, slots=True)
class HistoryItem:
    entry_id: int
    transfer_id: int
    kind: str
    points: int
    merchant_name: str | None
    merchant_category: str | None
    reversal_of: int | None
    reversed_kind: str | None
    created_at: datetime
    campaign_name: str | None = None


async def shopper_wallet(session: AsyncSession, *, principal: Principal) -> tuple[Shopper, Account]:
    shopper = await current_shopper(session, principal=principal)
    assert shopper.id is not None
    wallet = await ledger.find_account(
        session, tenant_id=shopper.tenant_id, code=wallet_code(shopper.id)
    )
    return shopper, wallet


async def _merchants_of_accounts(
    session: AsyncSession, *, tenant_id: int, account_ids: set[int]
) -> dict[int, Merchant]:
    """The merchant behind each given account (only merchant accounts appear)."""
    if not account_ids:
        return {}
    rows = (
        await session.execute(
            select(Account.id, Merchant)
            .join(Merchant, Merchant.id == Account.merchant_id)
            .where(Account.tenant_id == tenant_id, Account.id.in_(account_ids))
        )
    ).all()
    return {account_id: merchant for account_id, merchant in rows}


async def wallet_movements(
    session: AsyncSession, *, tenant_id: int, account_id: int
) -> list[Movement]:
    rows = (
        await session.execute(
            select(Entry.created_at, Entry.amount)
            .where(Entry.tenant_id == tenant_id, Entry.account_id == account_id)
            .order_by(Entry.id)
        )
    ).all()
    return [Movement(at=row.created_at, points=row.amount) for row in rows]


async def wallet_view(
    session: AsyncSession, *, principal: Principal, now: datetime | None = None
) -> WalletView:
    now = now or utcnow()
    shopper, wallet = await shopper_wallet(session, principal=principal)
    assert wallet.id is not None
    tenant = await session.get(Tenant, shopper.tenant_id)
    assert tenant is not None
    balance = (
        await ledger.get_balances(
            session, tenant_id=shopper.tenant_id, account_ids=[wallet.id], now=now
        )
    )[wallet.id]
    holds = list(
        await session.scalars(
            select(Hold)
            .where(
                Hold.tenant_id == shopper.tenant_id,
                Hold.debit_account_id == wallet.id,
                Hold.status == HoldStatus.PENDING.value,
                Hold.expires_at > now,
            )
            .order_by(Hold.id)
        )
    )
    merchants = await _merchants_of_accounts(
        session, tenant_id=shopper.tenant_id, account_ids={h.credit_account_id for h in holds}
    )
    expiring: list[tuple[date, int]] = []
    if tenant.points_expiry_days > 0:
        movements = await wallet_movements(
            session, tenant_id=shopper.tenant_id, account_id=wallet.id
        )
        lots = open_lots(movements, expiry_days=tenant.points_expiry_days)
        expiring = expiring_by_day(lots, now=now)
    return WalletView(
        balance=balance.balance,
        pending=balance.pending,
        available=balance.available,
        point_value_cents=tenant.point_value_cents,
        holds=[
            HoldView(
                hold_id=h.id,  # type: ignore[arg-type]
                points=h.amount,
                merchant_name=m.name if (m := merchants.get(h.credit_account_id)) else None,
                expires_at=h.expires_at,
                created_at=h.created_at,
            )
            for h in holds
        ],
        expiring=expiring,
    )


async def history_page(
    session: AsyncSession, *, tenant_id: int, account_id: int, limit: int, before_id: int | None
) -> list[HistoryItem]:
    """Up to ``limit + 1`` items, newest first (the extra one tells there is more)."""
    rows = await ledger.list_entries(
        session, tenant_id=tenant_id, account_id=account_id, limit=limit, before_id=before_id
    )
    counterparts = {
        transfer.debit_account_id if entry.amount > 0 else transfer.credit_account_id
        for entry, transfer in rows
    }
    merchants = await _merchants_of_accounts(session, tenant_id=tenant_id, account_ids=counterparts)
    items = []
    for entry, transfer in rows:
        other = transfer.debit_account_id if entry.amount > 0 else transfer.credit_account_id
        merchant = merchants.get(other)
        items.append(
            HistoryItem(
                entry_id=entry.id,  # type: ignore[arg-type]
                transfer_id=transfer.id,  # type: ignore[arg-type]
                kind=transfer.kind,
                points=entry.amount,
                merchant_name=merchant.name if merchant else None,
                merchant_category=merchant.category if merchant else None,
                reversal_of=transfer.reverses_transfer_id,
                reversed_kind=(transfer.meta or {}).get("reversed_kind")
                if transfer.reverses_transfer_id
                else None,
                created_at=entry.created_at,
                campaign_name=(transfer.meta or {}).get("campaign_name"),
            )
        )
    return items


async def full_history(
    session: AsyncSession, *, tenant_id: int, account_id: int, page_size: int = 500
) -> list[HistoryItem]:
    items: list[HistoryItem] = []
    before_id = None
    while True:
        page = await history_page(
            session,
            tenant_id=tenant_id,
            account_id=account_id,
            limit=page_size,
            before_id=before_id,
        )
        items.extend(page[:page_size])
        if len(page) <= page_size:
            return items
        before_id = page[page_size - 1].entry_id


# --- public shop list ---------------------------------------------------------------------


SHOPPING_KINDS = {"run": RUN_SHOPPING, "fun": FUN_SHOPPING}


def encode_shop_cursor(name_key: str, merchant_id: int) -> str:
    raw = orjson.dumps([name_key, merchant_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_shop_cursor(cursor: str) -> tuple[str, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name_key, merchant_id = orjson.loads(raw)
        if not isinstance(name_key, str) or not isinstance(merchant_id, int) or merchant_id <= 0:
            raise ValueError(cursor)
        return name_key, merchant_id
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise InvalidCursor() from exc


async def list_shops(
    session: AsyncSession,
    *,
    tenant_slug: str,
    q: str | None,
    category: str | None,
    village: str | None,
    limit: int,
    after: tuple[str, int] | None,
) -> list[tuple[str, Merchant]]:
    """Active shops by name (case-insensitive), ``limit + 1`` of them, each with its sort key.

    ``category`` is a shop category or a shopping kind (``run``/``fun``).
    """
    tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == tenant_slug))
    if tenant_id is None:
        raise TenantNotFound(f"There is no municipality {tenant_slug!r}.")
    name_key = func.lower(Merchant.name)
    query = select(name_key, Merchant).where(
        Merchant.tenant_id == tenant_id, Merchant.status == MerchantStatus.ACTIVE.value
    )
    if q:
        needle = q.strip().lower()
        query = query.where(
            or_(
                *(
                    func.lower(column).contains(needle, autoescape=True)
                    for column in (Merchant.name, Merchant.address, Merchant.village)
                )
            )
        )
    if category in SHOPPING_KINDS:
        query = query.where(Merchant.category.in_(sorted(SHOPPING_KINDS[category])))
    elif category:
        query = query.where(Merchant.category == category)
    if village:
        query = query.where(func.lower(Merchant.village) == village.strip().lower())
    if after is not None:
        after_key, after_id = after
        query = query.where(
            or_(name_key > after_key, and_(name_key == after_key, Merchant.id > after_id))
        )
    rows = (await session.execute(query.order_by(name_key, Merchant.id).limit(limit + 1))).all()
    return [(row[0], row[1]) for row in rows]
