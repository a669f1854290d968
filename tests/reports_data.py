"""A small hand-computed town for the report tests (see tests/test_reports_metrics.py)."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from backend.ledger import service as ledger
from backend.ledger.models import Account, AccountType
from backend.merchants.models import Merchant
from backend.tenants.models import Tenant
from backend.wallets.models import Shopper

BRUSSELS = ZoneInfo("Europe/Brussels")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BRUSSELS).astimezone(UTC)


@dataclass
class Town:
    tenant: Tenant
    funding: Account
    breakage: Account
    merchants: dict[str, tuple[Merchant, Account, Account]] = field(default_factory=dict)
    shoppers: dict[str, tuple[Shopper, Account]] = field(default_factory=dict)
    campaign: Account | None = None


async def add_merchant(session: AsyncSession, town: Town, name: str, category: str, village: str) -> None:
    merchant = Merchant(tenant_id=town.tenant.id, name=name, category=category, village=village)
    session.add(merchant)
    await session.flush()
    float_account, redeemed = await ledger.open_merchant_accounts(
        session, tenant_id=town.tenant.id, merchant_id=merchant.id, merchant_name=name)
    await ledger.post_transfer(session, tenant_id=town.tenant.id, idempotency_key=f"top-{uuid.uuid4().hex}",
                               kind="topup", debit_account_id=town.funding.id, credit_account_id=float_account.id,
                               amount=1_000_000, now=local("2025-12-01T08:00"))
    town.merchants[name] = (merchant, float_account, redeemed)


async def add_shopper(session: AsyncSession, town: Town, name: str, village: str | None, created: str) -> None:
    shopper = Shopper(tenant_id=town.tenant.id, first_name=name, village=village, created_at=local(created))
    session.add(shopper)
    await session.flush()
    wallet = await ledger.open_shopper_wallet(session, tenant_id=town.tenant.id, shopper_id=shopper.id)
    town.shoppers[name] = (shopper, wallet)


async def earn(session: AsyncSession, town: Town, shopper: str, shop: str, at: str, cents: int) -> int:
    merchant, float_account, _ = town.merchants[shop]
    posted = await ledger.post_transfer(
        session, tenant_id=town.tenant.id, idempotency_key=f"earn-{uuid.uuid4().hex}", kind="earn",
        debit_account_id=float_account.id, credit_account_id=town.shoppers[shopper][1].id, amount=cents // 100,
        meta={"purchase_cents": cents, "merchant_id": merchant.id}, now=local(at))
    return posted.id


async def redeem(session: AsyncSession, town: Town, shopper: str, shop: str, at: str, points: int) -> int:
    _, _, redeemed = town.merchants[shop]
    hold, _ = await ledger.create_hold(
        session, tenant_id=town.tenant.id, idempotency_key=f"hold-{uuid.uuid4().hex}", kind="redeem",
        debit_account_id=town.shoppers[shopper][1].id, credit_account_id=redeemed.id, amount=points,
        timeout_seconds=300, now=local(at))
    posted = await ledger.capture_hold(session, tenant_id=town.tenant.id, hold_id=hold.id,
                                       idempotency_key=f"cap-{uuid.uuid4().hex}", now=local(at))
    return posted.id


async def reverse(session: AsyncSession, town: Town, transfer_id: int, at: str, amount: int | None = None,
                  meta: dict | None = None) -> None:
    await ledger.reverse_transfer(session, tenant_id=town.tenant.id, transfer_id=transfer_id,
                                  idempotency_key=f"rev-{uuid.uuid4().hex}", amount=amount, meta=meta, now=local(at))


async def bonus(session: AsyncSession, town: Town, shopper: str, shop: str, at: str, points: int) -> None:
    if town.campaign is None:
        town.campaign = await ledger.open_account(
            session, tenant_id=town.tenant.id, account_type=AccountType.CAMPAIGN_BUDGET, name="Lenteactie",
            code="campaign:lente")
        await ledger.post_transfer(session, tenant_id=town.tenant.id, idempotency_key=f"budget-{uuid.uuid4().hex}",
                                   kind="budget", debit_account_id=town.funding.id,
                                   credit_account_id=town.campaign.id, amount=10_000, now=local("2026-01-01T09:00"))
    await ledger.post_transfer(
        session, tenant_id=town.tenant.id, idempotency_key=f"bonus-{uuid.uuid4().hex}", kind="bonus",
        debit_account_id=town.campaign.id, credit_account_id=town.shoppers[shopper][1].id, amount=points,
        meta={"merchant_id": town.merchants[shop][0].id, "campaign": "lente"}, now=local(at))


async def expire(session: AsyncSession, town: Town, shopper: str, at: str, points: int) -> None:
    await ledger.post_transfer(
        session, tenant_id=town.tenant.id, idempotency_key=f"exp-{uuid.uuid4().hex}", kind="expiry",
        debit_account_id=town.shoppers[shopper][1].id, credit_account_id=town.breakage.id, amount=points,
        now=local(at))


async def new_town(session: AsyncSession, tenant: Tenant) -> Town:
    town = Town(tenant=tenant, funding=await ledger.find_account(session, tenant_id=tenant.id, code="funding"),
                breakage=await ledger.find_account(session, tenant_id=tenant.id, code="breakage"))
    await add_merchant(session, town, "Bakkerij", "bakery", "Sint-Gillis")
    await add_merchant(session, town, "Boekhandel", "books", "Meerdonk")
    return town


async def hand_computed_town(session: AsyncSession, tenant: Tenant) -> Town:
    """The data behind the exact numbers of tests/test_reports_metrics.py (times are Brussels)."""
    town = await new_town(session, tenant)
    await add_shopper(session, town, "S1", "Sint-Gillis", "2026-01-10T12:00")
    await add_shopper(session, town, "S2", "Meerdonk", "2026-03-03T12:00")
    await add_shopper(session, town, "S3", "Sint-Gillis", "2026-02-20T12:00")
    await earn(session, town, "S1", "Bakkerij", "2026-02-20T09:30", 1000)  # previous period
    await earn(session, town, "S1", "Bakkerij", "2026-03-03T08:15", 2000)
    await earn(session, town, "S2", "Boekhandel", "2026-03-07T11:05", 5000)
    await bonus(session, town, "S2", "Boekhandel", "2026-03-07T11:06", 25)
    await earn(session, town, "S3", "Bakkerij", "2026-03-07T11:40", 1500)
    undone = await earn(session, town, "S2", "Bakkerij", "2026-03-10T14:00", 3000)
    await reverse(session, town, undone, "2026-03-10T14:05")
    refunded = await earn(session, town, "S1", "Boekhandel", "2026-03-12T16:20", 4000)
    await reverse(session, town, refunded, "2026-03-12T16:30", amount=10, meta={"refund_cents": 1000})
    await redeem(session, town, "S3", "Boekhandel", "2026-03-11T09:00", 10)
    await redeem(session, town, "S1", "Boekhandel", "2026-03-14T10:00", 25)
    await expire(session, town, "S1", "2026-03-15T03:00", 5)
    return town


async def random_stream(sessionmaker: Any, tenant: Tenant, *, seed: int, people: int, steps: int, start: datetime,
                        minutes_apart: int, joined_every_days: int = 0) -> None:
    """Earns, redemptions, (partial) reversals, bonuses and expiries at random, one transaction each.

    Time moves forward as in real life (the source of a redemption is the latest earn *by
    time*); a step the ledger refuses (insufficient points) is rolled back and skipped.
    """
    from backend.core.db import transaction
    from backend.ledger.errors import InsufficientFunds

    rng = random.Random(seed)
    async with transaction(sessionmaker) as session:
        town = await new_town(session, tenant)
        for i in range(people):
            joined = datetime(2026, 1, 1, 9) + timedelta(days=joined_every_days * i)
            await add_shopper(session, town, f"P{i}", rng.choice(["Sint-Gillis", "Meerdonk", None]), joined.isoformat())
    earns: list[int] = []
    redeems: list[int] = []
    for step in range(steps):
        at = (start + timedelta(minutes=minutes_apart * step)).isoformat()
        shopper, shop = f"P{rng.randrange(people)}", rng.choice(["Bakkerij", "Boekhandel"])
        action = rng.random()
        async with transaction(sessionmaker) as session:
            try:
                if action < 0.5:
                    earns.append(await earn(session, town, shopper, shop, at, rng.randrange(100, 9000)))
                elif action < 0.67:
                    redeems.append(await redeem(session, town, shopper, shop, at, rng.randrange(1, 30)))
                elif action < 0.8 and earns:
                    # A full reversal empties a day; a partial one (or a refund of some cents) does not.
                    await reverse(session, town, earns.pop(rng.randrange(len(earns))), at,
                                  amount=rng.choice([None, None, 1]), meta=rng.choice([{}, {"refund_cents": 150}]))
                elif action < 0.88 and redeems:
                    await reverse(session, town, redeems.pop(), at, amount=rng.choice([None, 1]))
                elif action < 0.95:
                    await bonus(session, town, shopper, shop, at, rng.randrange(1, 20))
                else:
                    await expire(session, town, shopper, at, 1)
            except InsufficientFunds:
                await session.rollback()
