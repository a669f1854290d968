"""``kernpunt demo --shoppers N --merchants M --months X --seed S``: the large town, in bulk.

Set-up (municipality, shops with their ledger accounts, sign-ins, the campaigns with their
budget accounts) goes through the services; the shoppers and the history go in bulk
(``backend.demo.bulk``), one transaction per day, with a progress bar on stderr.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TextIO

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.auth import service as auth_service
from backend.auth.models import Role
from backend.config import Settings
from backend.core.db import transaction
from backend.demo.bulk import EXPIRY_DAYS, BulkHistory, finish, next_ids, progress_bar, write_day
from backend.demo.bulk_campaigns import (
    CampaignBook,
    create_campaigns,
    finish_campaigns,
    plan_campaigns,
)
from backend.demo.large_town import make_merchants, make_shoppers
from backend.demo.logins import DEMO_LOGINS, DEMO_TENANT_NAME, DEMO_TENANT_SLUG
from backend.ledger import service as ledger
from backend.ledger.models import Account, AccountBalance, AccountType
from backend.merchants.models import Merchant
from backend.reports.shopper_months import rebuild_from_activity
from backend.tenants.service import create_tenant
from backend.wallets.models import Shopper


@dataclass
class LargeSummary:
    tenant_id: int
    slug: str
    merchants: int
    shoppers: int
    start: date
    end: date
    transfers: int = 0
    holds: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


def _login(role: str):
    return next(login for login in DEMO_LOGINS if login.role == role)


async def _bulk_shoppers(session: AsyncSession, *, tenant_id: int, people: list, created: datetime
                         ) -> tuple[list[int], list[int]]:
    shopper_base = int((await session.execute(select(func.max(Shopper.id)))).scalar() or 0)
    account_base = int((await session.execute(select(func.max(Account.id)))).scalar() or 0)
    shopper_rows, account_rows, balance_rows, shopper_ids, wallet_ids = [], [], [], [], []
    for i, person in enumerate(people):
        sid, aid = shopper_base + 1 + i, account_base + 1 + i
        shopper_ids.append(sid)
        wallet_ids.append(aid)
        shopper_rows.append({"id": sid, "tenant_id": tenant_id, "user_id": None, "first_name": person.first_name,
                             "postcode": person.postcode, "village": person.village, "language": "nl",
                             "consent_version": None, "consent_at": None, "created_at": person.joined,
                             "deleted_at": None})
        account_rows.append({"id": aid, "tenant_id": tenant_id, "type": AccountType.SHOPPER_WALLET.value,
                             "code": f"shopper:{sid}:wallet", "name": f"Wallet of shopper {sid}", "merchant_id": None,
                             "shopper_id": sid, "shard_count": 1, "unbounded": False, "credit_limit": 0,
                             "created_at": created})
        balance_rows.append({"account_id": aid, "slot": 0, "tenant_id": tenant_id, "balance": 0, "pending": 0,
                             "floor": 0})
    for table, rows in ((Shopper.__table__, shopper_rows), (Account.__table__, account_rows),
                        (AccountBalance.__table__, balance_rows)):
        for start in range(0, len(rows), 5000):
            await session.execute(insert(table), rows[start:start + 5000])
    if session.bind.dialect.name == "postgresql":
        for table in ("shopper", "account"):
            await session.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
    return shopper_ids, wallet_ids


async def generate_large_town(
    sessionmaker: async_sessionmaker[AsyncSession], *, shoppers: int, merchants: int, months: int, seed: int,
    settings: Settings, until: date | None = None, stream: TextIO | None = sys.stderr,
    slug: str = DEMO_TENANT_SLUG, name: str = DEMO_TENANT_NAME,
) -> LargeSummary:
    until = until or datetime.now(UTC).date()
    days = max(7, round(months * 365 / 12))
    start = until - timedelta(days=days)
    rng = random.Random(seed)
    shop_specs = make_merchants(rng, merchants)
    people = make_shoppers(rng, shoppers, shop_specs, start, days)
    founded = datetime.combine(start - timedelta(days=400), time(9), tzinfo=UTC)
    campaigns = plan_campaigns(start, days)

    async with transaction(sessionmaker) as session:
        tenant = await create_tenant(session, slug=slug, name=name, settings=settings)
        tenant.points_expiry_days = EXPIRY_DAYS
        tenant.created_at = founded
        session.add(tenant)
        merchant_ids, floats, redeemed, shops = [], [], [], []
        for index, spec in enumerate(shop_specs):
            merchant = Merchant(tenant_id=tenant.id, name="Bakkerij De Wilde" if index == 0 else spec.name,
                                category=spec.category, village=spec.village, address=spec.address,
                                postcode="9170", created_at=founded)
            session.add(merchant)
            await session.flush()
            float_account, redeemed_account = await ledger.open_merchant_accounts(
                session, tenant_id=tenant.id, merchant_id=merchant.id, merchant_name=merchant.name)
            merchant_ids.append(merchant.id)
            shops.append(merchant)
            floats.append(float_account.id)
            redeemed.append(redeemed_account.id)
        shop_specs[0] = type(shop_specs[0])("Bakkerij De Wilde", *(
            getattr(shop_specs[0], f) for f in ("category", "village", "address", "closed_weekday")))
        staff = {}
        for key, role in (("admin", Role.MUNICIPALITY_ADMIN), ("auditor", Role.AUDITOR), ("owner", Role.MERCHANT_OWNER),
                          ("cashier", Role.CASHIER)):
            login = _login(role.value)
            user = await auth_service.create_user(
                session, tenant_id=tenant.id, email=login.email, password=login.password, role=role,
                merchant_id=merchant_ids[0] if role in auth_service.MERCHANT_ROLES else None, display_name=login.label_nl)
            staff[key] = user.id
        await create_campaigns(session, tenant_id=tenant.id, admin_user_id=staff["admin"], start=start,
                               planned=campaigns)
        singles = {code: (await ledger.find_account(session, tenant_id=tenant.id, code=code)).id
                   for code in ("funding", "payouts", "breakage")}
        await session.execute(update(Account).where(Account.tenant_id == tenant.id).values(created_at=founded))
        shopper_ids, wallets = await _bulk_shoppers(session, tenant_id=tenant.id, people=people, created=founded)
        ids = await next_ids(session)
        tenant_id, point_value, hold_timeout = tenant.id, tenant.point_value_cents, tenant.hold_timeout_seconds

    history = BulkHistory(
        rng=rng, tenant_id=tenant_id, start=start, days=days, merchants=shop_specs, shoppers=people,
        merchant_ids=merchant_ids, floats=floats, redeemed=redeemed, shopper_ids=shopper_ids, wallets=wallets,
        funding=singles["funding"], payouts=singles["payouts"], breakage=singles["breakage"],
        campaigns=CampaignBook(campaigns, shops), ids=ids, point_value_cents=point_value, hold_timeout=hold_timeout,
        staff=staff, key_prefix=f"demo-{seed}")
    show = progress_bar(stream) if stream is not None else None
    first_id = ids.transfer
    for offset in range(days):
        out = history.run_day(offset)
        async with transaction(sessionmaker) as session:
            await write_day(session, tenant_id, out)
        if show:
            show(offset + 1, days, f"{start + timedelta(days=offset)} {history.ids.transfer - first_id:>9} transfers")
    async with transaction(sessionmaker) as session:
        await finish_campaigns(session, tenant_id=tenant_id, admin_user_id=staff["admin"], planned=campaigns)
        # The activity rollup was written day by day; its monthly per-shopper view follows from it.
        await rebuild_from_activity(session, tenant_id=tenant_id)
        await finish(session, history)
    return LargeSummary(tenant_id=tenant_id, slug=slug, merchants=len(shop_specs), shoppers=len(people), start=start,
                        end=until - timedelta(days=1), transfers=sum(history.kinds.values()), holds=history.holds,
                        kinds=dict(history.kinds))
