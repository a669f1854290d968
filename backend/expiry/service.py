"""Points expiry: lapsed lots move to breakage; shoppers are warned 30 days ahead.

A lot is valid through the Europe/Brussels calendar day on which it lapses
(``lots.expiring_by_day``) and is moved to breakage by the first run after that day.
All lots of one wallet lapsing on the same day go in one ``expiry`` transfer with key
``expiry:{wallet_id}:{date}``, so running the job twice changes nothing. The expiry debit
eats the soonest-expiring lots first (``lots.open_lots``), which are exactly the lapsed
ones; points reserved by an open till hold are left for the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.auth.models import User
from backend.core.db import transaction
from backend.core.routing import backoff, is_retryable
from backend.expiry.models import ExpiryNotice
from backend.ledger.accounts import find_account
from backend.ledger.balances import balances as shard_balances
from backend.ledger.models import Account, AccountBalance, AccountType, Entry
from backend.ledger.transfers import find_by_key, post_transfer
from backend.notifications import texts
from backend.notifications.service import queue_email
from backend.tenants.models import Tenant
from backend.wallets.lots import BRUSSELS, Movement, open_lots
from backend.wallets.models import Shopper

logger = logging.getLogger("kernpunt.expiry")

EXPIRY_KIND = "expiry"
NOTICE_DAYS = 30
NOTICE_KIND = "points_expiring"


@dataclass
class ExpiryReport:
    wallets: int = 0
    transfers: int = 0
    points: int = 0
    notices: int = 0
    per_tenant: dict[str, int] = field(default_factory=dict)


def brussels_date(at: datetime) -> date:
    return at.astimezone(BRUSSELS).date()


async def _movements(session: AsyncSession, *, tenant_id: int, account_id: int) -> list[Movement]:
    rows = (
        await session.execute(
            select(Entry.created_at, Entry.amount)
            .where(Entry.tenant_id == tenant_id, Entry.account_id == account_id)
            .order_by(Entry.id)
        )
    ).all()
    return [Movement(at=row.created_at, points=row.amount) for row in rows]


async def candidate_wallets(session: AsyncSession, *, tenant: Tenant, now: datetime) -> list[int]:
    """Wallets holding points and credited long enough ago to lapse or be warned about."""
    horizon = now - timedelta(days=tenant.points_expiry_days) + timedelta(days=NOTICE_DAYS + 1)
    b = AccountBalance.__table__
    positive = (
        select(b.c.account_id)
        .where(b.c.tenant_id == tenant.id)
        .group_by(b.c.account_id)
        .having(func.sum(b.c.balance) > 0)
    )
    old_credit = select(Entry.account_id).where(
        Entry.tenant_id == tenant.id, Entry.amount > 0, Entry.created_at <= horizon
    )
    rows = await session.scalars(
        select(Account.id)
        .where(
            Account.tenant_id == tenant.id,
            Account.type == AccountType.SHOPPER_WALLET.value,
            Account.id.in_(positive),
            Account.id.in_(old_credit),
        )
        .order_by(Account.id)
    )
    return list(rows)


async def expire_wallet(
    session: AsyncSession, *, tenant: Tenant, wallet_id: int, breakage_id: int, now: datetime
) -> list[tuple[date, int]]:
    """Post the expiry transfers due for one wallet; returns (day, points) posted."""
    tenant_id: int = tenant.id  # type: ignore[assignment]
    today = brussels_date(now)
    lots = open_lots(
        await _movements(session, tenant_id=tenant_id, account_id=wallet_id), expiry_days=tenant.points_expiry_days
    )
    due: dict[date, int] = {}
    for lot in lots:
        day = brussels_date(lot.expires_at)
        if day < today:
            due[day] = due.get(day, 0) + lot.points
    if not due:
        return []
    available = max((await shard_balances(session, tenant_id=tenant_id, account_ids=[wallet_id]))[wallet_id].available, 0)
    posted: list[tuple[date, int]] = []
    for day in sorted(due):
        points = min(due[day], available)
        if points <= 0:
            break
        key = f"expiry:{wallet_id}:{day.isoformat()}"
        # A day already expired can have points left when a hold had reserved them or the
        # expiry period was shortened since: those go under a numbered key of the same day.
        suffix = 1
        while await find_by_key(session, tenant_id=tenant_id, idempotency_key=key) is not None:
            suffix += 1
            key = f"expiry:{wallet_id}:{day.isoformat()}:{suffix}"
        await post_transfer(
            session,
            tenant_id=tenant_id,
            idempotency_key=key,
            kind=EXPIRY_KIND,
            debit_account_id=wallet_id,
            credit_account_id=breakage_id,
            amount=points,
            description=f"Points lapsed on {day.isoformat()}",
            meta={"expired_on": day.isoformat(), "expiry_days": tenant.points_expiry_days},
            now=now,
        )
        available -= points
        posted.append((day, points))
    return posted


async def queue_notices(session: AsyncSession, *, tenant: Tenant, wallet_id: int, now: datetime) -> int:
    """E-mail the shopper about points lapsing within 30 days, once per expiry day."""
    tenant_id: int = tenant.id  # type: ignore[assignment]
    account = await session.get(Account, wallet_id)
    if account is None or account.shopper_id is None:
        return 0
    shopper = await session.get(Shopper, account.shopper_id)
    if shopper is None or shopper.deleted_at is not None or shopper.user_id is None:
        return 0  # anonymous card wallets have nobody to write to
    user = await session.get(User, shopper.user_id)
    if user is None or not user.email:
        return 0
    today = brussels_date(now)
    lots = open_lots(
        await _movements(session, tenant_id=tenant_id, account_id=wallet_id), expiry_days=tenant.points_expiry_days
    )
    upcoming: dict[date, int] = {}
    for lot in lots:
        day = brussels_date(lot.expires_at)
        if today <= day <= today + timedelta(days=NOTICE_DAYS):
            upcoming[day] = upcoming.get(day, 0) + lot.points
    sent = 0
    for day, points in sorted(upcoming.items()):
        already = await session.scalar(
            select(ExpiryNotice.id).where(
                ExpiryNotice.tenant_id == tenant_id,
                ExpiryNotice.shopper_id == shopper.id,
                ExpiryNotice.expires_on == day,
            )
        )
        if already is not None:
            continue
        text = texts.render(
            NOTICE_KIND,
            shopper.language,
            scheme=tenant.name,
            first_name=shopper.first_name,
            points=points,
            date=day.strftime("%d/%m/%Y"),
            link=_wallet_link(),
        )
        try:
            async with session.begin_nested():
                notice = ExpiryNotice(
                    tenant_id=tenant_id, shopper_id=shopper.id, expires_on=day, points=points, created_at=now  # type: ignore[arg-type]
                )
                session.add(notice)
                await session.flush()
                message = await queue_email(
                    session,
                    tenant_id=tenant_id,
                    to_email=user.email,
                    subject=text.subject,
                    body_text=text.body,
                    kind=NOTICE_KIND,
                )
                notice.outbox_message_id = message.id
                await session.flush()
        except IntegrityError:
            continue  # a concurrent run wrote this notice
        sent += 1
    return sent


def _wallet_link() -> str:
    from backend.config import get_settings

    return f"{get_settings().public_url.rstrip('/')}/app/"


async def run_expiry(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    tenant_ids: list[int] | None = None,
    notices: bool = True,
) -> ExpiryReport:
    """Expire lapsed points and queue notices for every (or the given) municipality.

    One short transaction per wallet, retried on deadlock, so a long run never blocks
    the tills.
    """
    report = ExpiryReport()
    async with transaction(sessionmaker) as session:
        query = select(Tenant).where(Tenant.points_expiry_days > 0).order_by(Tenant.id)
        if tenant_ids is not None:
            query = query.where(Tenant.id.in_(tenant_ids))
        tenants = list(await session.scalars(query))
        session.expunge_all()
    for tenant in tenants:
        async with transaction(sessionmaker) as session:
            wallets = await candidate_wallets(session, tenant=tenant, now=now)
            breakage = await find_account(session, tenant_id=tenant.id, code="breakage")  # type: ignore[arg-type]
        for wallet_id in wallets:
            for attempt in range(5):
                try:
                    async with transaction(sessionmaker) as session:
                        posted = await expire_wallet(
                            session, tenant=tenant, wallet_id=wallet_id, breakage_id=breakage.id, now=now  # type: ignore[arg-type]
                        )
                        sent = await queue_notices(session, tenant=tenant, wallet_id=wallet_id, now=now) if notices else 0
                    break
                except Exception as exc:
                    if is_retryable(exc) and attempt < 4:
                        await backoff(attempt)
                        continue
                    raise
            report.wallets += 1
            report.transfers += len(posted)
            report.points += sum(points for _day, points in posted)
            report.notices += sent
            if posted:
                report.per_tenant[tenant.slug] = report.per_tenant.get(tenant.slug, 0) + sum(p for _d, p in posted)
    return report
