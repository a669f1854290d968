"""Paying campaign bonuses in the earn's transaction (taking them back: ``reversal.py``).

Each bonus is its own ledger transfer ``bonus`` campaign budget -> wallet, posted in the
same database transaction as the earn it rewards. The budget account has a floor of
zero, so it can never be overspent: the bonus is first cut to what the budget shows as
available, and when a concurrent earn took those points meanwhile the debit raises
``InsufficientFunds`` inside a SAVEPOINT, which we roll back and retry with what is left
then (or skip). A campaign running dry never fails the earn itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.campaigns.models import Campaign, CampaignAward, CampaignTrigger
from backend.campaigns.rules import applies_to, bonus_points, in_window
from backend.core.errors import IdempotencyKeyReused
from backend.core.idempotency import request_fingerprint
from backend.ledger.balances import balances as shard_balances
from backend.ledger.errors import InsufficientFunds
from backend.ledger.models import Transfer
from backend.ledger.transfers import post_transfer
from backend.merchants.models import Merchant
from backend.tenants.models import Tenant

BONUS_KIND = "bonus"
MAX_ATTEMPTS = 4


@dataclass(frozen=True, slots=True)
class AwardedBonus:
    campaign_id: int
    campaign_name: str
    points: int
    transfer_id: int


async def budget_available(session: AsyncSession, *, tenant_id: int, account_id: int) -> int:
    found = await shard_balances(session, tenant_id=tenant_id, account_ids=[account_id])
    balance = found.get(account_id)
    return max(balance.available, 0) if balance is not None else 0


async def _candidates(session: AsyncSession, *, tenant_id: int, trigger: str) -> list[Campaign]:
    return list(
        await session.scalars(
            select(Campaign)
            .where(
                Campaign.tenant_id == tenant_id,
                Campaign.trigger == trigger,
                Campaign.active.is_(True),
                Campaign.exhausted_at.is_(None),
            )
            .order_by(Campaign.id)
        )
    )


async def _mark_exhausted(session: AsyncSession, *, campaign_id: int, now: datetime) -> None:
    await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.exhausted_at.is_(None))
        .values(exhausted_at=now)
        .execution_options(synchronize_session=False)
    )


async def _pay(
    session: AsyncSession,
    *,
    campaign: Campaign,
    wanted: int,
    wallet_account_id: int,
    shopper_id: int,
    merchant_id: int | None,
    earn_transfer_id: int | None,
    key: str,
    meta: dict[str, Any],
    now: datetime,
) -> AwardedBonus | None:
    """Post up to ``wanted`` points from the campaign's budget; None when nothing is left."""
    tenant_id = campaign.tenant_id
    budget_id: int = campaign.budget_account_id  # type: ignore[assignment]
    amount = min(wanted, await budget_available(session, tenant_id=tenant_id, account_id=budget_id))
    for _attempt in range(MAX_ATTEMPTS):
        if amount <= 0:
            break
        try:
            async with session.begin_nested():
                posted = await post_transfer(
                    session,
                    tenant_id=tenant_id,
                    idempotency_key=key,
                    kind=BONUS_KIND,
                    debit_account_id=budget_id,
                    credit_account_id=wallet_account_id,
                    amount=amount,
                    description=f"Bonus: {campaign.name}",
                    meta={
                        "campaign_id": campaign.id,
                        "campaign_name": campaign.name,
                        "requested_points": wanted,
                        **meta,
                    },
                    fingerprint=request_fingerprint(
                        "campaign:bonus", {"campaign": campaign.id, "earn": earn_transfer_id, "shopper": shopper_id}
                    ),
                    now=now,
                )
                if posted.replayed:
                    return None  # a concurrent request paid this bonus already
                session.add(
                    CampaignAward(
                        tenant_id=tenant_id,
                        campaign_id=campaign.id,  # type: ignore[arg-type]
                        shopper_id=shopper_id,
                        merchant_id=merchant_id,
                        earn_transfer_id=earn_transfer_id,
                        bonus_transfer_id=posted.id,
                        points=amount,
                        requested_points=wanted,
                        created_at=now,
                    )
                )
                await session.flush()
        except InsufficientFunds as exc:
            if exc.extra.get("account_id") != budget_id:
                raise
            # Another earn spent the budget between our read and our debit.
            amount = min(wanted, int(exc.extra.get("available", 0) or 0))
            continue
        except IdempotencyKeyReused:
            return None  # a discovery or welcome bonus this shopper already received
        if amount < wanted:
            await _mark_exhausted(session, campaign_id=campaign.id, now=now)  # type: ignore[arg-type]
        return AwardedBonus(campaign.id, campaign.name, amount, posted.id)  # type: ignore[arg-type]
    await _mark_exhausted(session, campaign_id=campaign.id, now=now)  # type: ignore[arg-type]
    return None


async def _first_earn_at_shop(
    session: AsyncSession, *, tenant_id: int, merchant_id: int, wallet_account_id: int, earn_transfer_id: int
) -> bool:
    float_code = f"merchant:{merchant_id}:float"
    from backend.ledger.models import Account

    float_id = await session.scalar(
        select(Account.id).where(Account.tenant_id == tenant_id, Account.code == float_code)
    )
    earlier = await session.scalar(
        select(Transfer.id)
        .where(
            Transfer.tenant_id == tenant_id,
            Transfer.debit_account_id == float_id,
            Transfer.credit_account_id == wallet_account_id,
            Transfer.kind == "earn",
            Transfer.id != earn_transfer_id,
        )
        .limit(1)
    )
    return earlier is None


async def apply_campaign_bonuses(
    session: AsyncSession,
    *,
    tenant: Tenant,
    merchant: Merchant,
    shopper_id: int,
    wallet_account_id: int,
    earn_points: int,
    earn_transfer_id: int,
    purchase_cents: int,
    now: datetime,
    idempotency_key: str,
) -> list[AwardedBonus]:
    """Pay every applicable campaign's bonus for one earn, in the earn's transaction."""
    tenant_id: int = tenant.id  # type: ignore[assignment]
    awarded: list[AwardedBonus] = []
    for campaign in await _candidates(session, tenant_id=tenant_id, trigger=CampaignTrigger.EARN):
        if not applies_to(campaign, merchant, now):
            continue
        wanted = bonus_points(campaign, earn_points)
        if wanted <= 0:
            continue
        if campaign.first_purchase_only:
            if not await _first_earn_at_shop(
                session,
                tenant_id=tenant_id,
                merchant_id=merchant.id,  # type: ignore[arg-type]
                wallet_account_id=wallet_account_id,
                earn_transfer_id=earn_transfer_id,
            ):
                continue
            # One discovery bonus per shopper and shop, enforced by the ledger's unique key
            # even when two first earns race.
            key = f"campaign:{campaign.id}:first:{shopper_id}:{merchant.id}"
        else:
            key = f"{idempotency_key}:bonus:{campaign.id}"
        paid = await _pay(
            session,
            campaign=campaign,
            wanted=wanted,
            wallet_account_id=wallet_account_id,
            shopper_id=shopper_id,
            merchant_id=merchant.id,
            earn_transfer_id=earn_transfer_id,
            key=key,
            meta={
                "earn_transfer_id": earn_transfer_id,
                "merchant_id": merchant.id,
                "purchase_cents": purchase_cents,
                "earn_points": earn_points,
            },
            now=now,
        )
        if paid is not None:
            awarded.append(paid)
    return awarded


async def apply_welcome_bonuses(
    session: AsyncSession, *, tenant_id: int, shopper_id: int, wallet_account_id: int, now: datetime
) -> list[AwardedBonus]:
    """Welcome bonuses for a new shopper: once per shopper and campaign."""
    awarded: list[AwardedBonus] = []
    for campaign in await _candidates(session, tenant_id=tenant_id, trigger=CampaignTrigger.SIGNUP):
        if not in_window(campaign, now):
            continue
        paid = await _pay(
            session,
            campaign=campaign,
            wanted=bonus_points(campaign, 0),
            wallet_account_id=wallet_account_id,
            shopper_id=shopper_id,
            merchant_id=None,
            earn_transfer_id=None,
            key=f"campaign:{campaign.id}:welcome:{shopper_id}",
            meta={"welcome": True},
            now=now,
        )
        if paid is not None:
            awarded.append(paid)
    return awarded


async def bonuses_for_earn(
    session: AsyncSession, *, tenant_id: int, earn_transfer_id: int
) -> list[AwardedBonus]:
    rows = (
        await session.execute(
            select(CampaignAward, Campaign.name)
            .join(Campaign, Campaign.id == CampaignAward.campaign_id)
            .where(CampaignAward.tenant_id == tenant_id, CampaignAward.earn_transfer_id == earn_transfer_id)
            .order_by(CampaignAward.id)
        )
    ).all()
    return [AwardedBonus(a.campaign_id, name, a.points, a.bonus_transfer_id) for a, name in rows]
