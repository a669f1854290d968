"""Campaign administration: create, change, stop/start, fund, figures and preview.

Every change records an audit entry. Changing a campaign never touches bonuses already
paid: they are ledger transfers, and the ledger is append-only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import changed_fields, record_audit
from backend.auth.deps import Principal
from backend.campaigns.bonus import budget_available
from backend.campaigns.errors import CampaignNotFound, InvalidCampaign, UnknownMerchant
from backend.campaigns.models import Campaign, CampaignAward, CampaignTrigger
from backend.campaigns.reversal import bonus_kept
from backend.campaigns.rules import applies_to, bonus_points
from backend.campaigns.schemas import BudgetOut, CampaignOut, PreviewBonus, PreviewOut
from backend.core.errors import IdempotencyKeyReused
from backend.core.idempotency import request_fingerprint
from backend.ledger.accounts import find_account, open_account
from backend.ledger.models import AccountType, Transfer
from backend.ledger.transfers import PostedTransfer, find_by_key, post_transfer
from backend.merchants.models import Merchant
from backend.tenants.models import Tenant
from backend.till.errors import PurchaseBelowMinimum
from backend.till.rules import earn_points, rate_for

ENTITY = "campaign"


def status_of(campaign: Campaign, *, now: datetime) -> str:
    if not campaign.active:
        return "stopped"
    if campaign.exhausted_at is not None:
        return "exhausted"
    if now < campaign.starts_at:
        return "scheduled"
    if campaign.ends_at is not None and now >= campaign.ends_at:
        return "ended"
    return "running"


def _check(values: dict[str, Any]) -> None:
    if (values["multiplier_percent"] is None) == (values["fixed_points"] is None):
        raise InvalidCampaign("Give either multiplier_percent (e.g. 200 = double) or fixed_points, not both.")
    if values["ends_at"] is not None and values["ends_at"] <= values["starts_at"]:
        raise InvalidCampaign("ends_at must be after starts_at.")
    if values["trigger"] == CampaignTrigger.SIGNUP:
        if values["fixed_points"] is None:
            raise InvalidCampaign("A welcome bonus is a fixed number of points.")
        if values["first_purchase_only"] or any(values[k] for k in ("weekdays", "categories", "villages", "merchant_ids")):
            raise InvalidCampaign("A welcome bonus only has a time window: no shops, days or first purchase.")


async def _check_merchants(session: AsyncSession, *, tenant_id: int, merchant_ids: list[int]) -> None:
    if not merchant_ids:
        return
    found = set(
        await session.scalars(
            select(Merchant.id).where(Merchant.tenant_id == tenant_id, Merchant.id.in_(merchant_ids))
        )
    )
    missing = [m for m in merchant_ids if m not in found]
    if missing:
        raise UnknownMerchant(f"No shop {missing[0]} in this municipality.", merchant_ids=missing)


async def get_campaign(session: AsyncSession, *, tenant_id: int, campaign_id: int) -> Campaign:
    campaign = await session.get(Campaign, campaign_id, populate_existing=True)
    if campaign is None or campaign.tenant_id != tenant_id:
        raise CampaignNotFound(f"Campaign {campaign_id} does not exist in this municipality.")
    return campaign


async def create_campaign(
    session: AsyncSession, *, principal: Principal, fields: dict[str, Any], now: datetime
) -> Campaign:
    values: dict[str, Any] = {
        "trigger": CampaignTrigger.EARN.value,
        "description": "",
        "multiplier_percent": None,
        "fixed_points": None,
        "starts_at": now,
        "ends_at": None,
        "weekdays": [],
        "categories": [],
        "villages": [],
        "merchant_ids": [],
        "first_purchase_only": False,
        "active": True,
    }
    values.update({k: v for k, v in fields.items() if v is not None})
    _check(values)
    await _check_merchants(session, tenant_id=principal.tenant_id, merchant_ids=values["merchant_ids"])
    campaign = Campaign(
        tenant_id=principal.tenant_id,
        created_by_user_id=principal.user_id,
        created_at=now,
        updated_at=now,
        **{**values, "categories": [str(c) for c in values["categories"]]},
    )
    session.add(campaign)
    await session.flush()
    account = await open_account(
        session,
        tenant_id=principal.tenant_id,
        account_type=AccountType.CAMPAIGN_BUDGET,
        name=f"Budget of campaign {campaign.name}"[:200],
        code=f"campaign:{campaign.id}:budget",
    )
    campaign.budget_account_id = account.id
    session.add(campaign)
    await session.flush()
    await record_audit(
        session, principal=principal, action="campaign.create", entity_type=ENTITY,
        entity_id=campaign.id, before=None, after=campaign.rules(),  # type: ignore[arg-type]
    )
    return campaign


async def update_campaign(
    session: AsyncSession, *, principal: Principal, campaign_id: int, changes: dict[str, Any], now: datetime,
    action: str = "campaign.update",
) -> Campaign:
    campaign = await get_campaign(session, tenant_id=principal.tenant_id, campaign_id=campaign_id)
    before = campaign.rules()
    # ends_at may be cleared (null = open-ended); other nulls mean "unchanged".
    values = {**before, **{k: v for k, v in changes.items() if v is not None or k == "ends_at"}}
    if "categories" in changes and changes["categories"] is not None:
        values["categories"] = [str(c) for c in changes["categories"]]
    _check(values)
    await _check_merchants(session, tenant_id=principal.tenant_id, merchant_ids=values["merchant_ids"])
    old, new = changed_fields(before, values)
    if not new:
        return campaign
    for name, value in new.items():
        setattr(campaign, name, value)
    campaign.updated_at = now
    session.add(campaign)
    await session.flush()
    await record_audit(
        session, principal=principal, action=action, entity_type=ENTITY, entity_id=campaign_id,
        before=old, after=new,
    )
    return campaign


async def fund_campaign(
    session: AsyncSession, *, principal: Principal, campaign_id: int, points: int, idempotency_key: str, now: datetime
) -> tuple[PostedTransfer, int]:
    """The municipality moves ``points`` into the campaign's budget (ledger ``budget``)."""
    campaign = await get_campaign(session, tenant_id=principal.tenant_id, campaign_id=campaign_id)
    key = f"campaign:{campaign_id}:fund:{idempotency_key}"
    fingerprint = request_fingerprint("campaign:fund", {"campaign": campaign_id, "points": points})
    existing = await find_by_key(session, tenant_id=principal.tenant_id, idempotency_key=key)
    if existing is not None:
        if existing.request_hash != fingerprint:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used for a different request; use a new key.",
                transfer_id=existing.id,
            )
        left = await budget_available(session, tenant_id=principal.tenant_id, account_id=campaign.budget_account_id)  # type: ignore[arg-type]
        return existing, left
    funding = await find_account(session, tenant_id=principal.tenant_id, code="funding")
    transfer = await post_transfer(
        session,
        tenant_id=principal.tenant_id,
        idempotency_key=key,
        kind="budget",
        debit_account_id=funding.id,  # type: ignore[arg-type]
        credit_account_id=campaign.budget_account_id,  # type: ignore[arg-type]
        amount=points,
        description=f"Budget for campaign {campaign.name}",
        meta={"campaign_id": campaign_id},
        created_by_user_id=principal.user_id,
        fingerprint=fingerprint,
        now=now,
    )
    if not transfer.replayed:
        if campaign.exhausted_at is not None:
            campaign.exhausted_at = None
            session.add(campaign)
            await session.flush()
        await record_audit(
            session, principal=principal, action="campaign.fund", entity_type=ENTITY, entity_id=campaign_id,
            before=None, after={"points": points, "transfer_id": transfer.id},
        )
    left = await budget_available(session, tenant_id=principal.tenant_id, account_id=campaign.budget_account_id)  # type: ignore[arg-type]
    return transfer, left


async def budget_figures(session: AsyncSession, *, campaign: Campaign) -> BudgetOut:
    t = Transfer.__table__
    account_id = campaign.budget_account_id
    credited = dict(
        (
            await session.execute(
                select(t.c.kind, func.coalesce(func.sum(t.c.amount), 0))
                .where(t.c.tenant_id == campaign.tenant_id, t.c.credit_account_id == account_id)
                .group_by(t.c.kind)
            )
        ).all()
    )
    debited = dict(
        (
            await session.execute(
                select(t.c.kind, func.coalesce(func.sum(t.c.amount), 0))
                .where(t.c.tenant_id == campaign.tenant_id, t.c.debit_account_id == account_id)
                .group_by(t.c.kind)
            )
        ).all()
    )
    return BudgetOut(
        funded=int(credited.get("budget", 0)),
        bonus_paid=int(debited.get("bonus", 0)),
        bonus_reversed=int(credited.get("reversal", 0)),
        bonus_kept=await bonus_kept(session, campaign=campaign),
        returned=int(debited.get("budget_return", 0)),
        left=await budget_available(session, tenant_id=campaign.tenant_id, account_id=account_id),  # type: ignore[arg-type]
    )


async def campaign_out(session: AsyncSession, campaign: Campaign, *, now: datetime, detail: bool) -> CampaignOut:
    out = CampaignOut(
        **campaign.model_dump(exclude={"tenant_id", "created_by_user_id"}),
        status=status_of(campaign, now=now),  # type: ignore[arg-type]
    )
    if detail:
        out.budget = await budget_figures(session, campaign=campaign)
        out.awards = int(
            await session.scalar(
                select(func.count()).select_from(CampaignAward).where(CampaignAward.campaign_id == campaign.id)
            )
            or 0
        )
    return out


async def list_campaigns(
    session: AsyncSession, *, tenant_id: int, limit: int, before_id: int | None
) -> list[Campaign]:
    query = select(Campaign).where(Campaign.tenant_id == tenant_id)
    if before_id is not None:
        query = query.where(Campaign.id < before_id)
    return list(await session.scalars(query.order_by(Campaign.id.desc()).limit(limit + 1)))


async def preview(
    session: AsyncSession, *, tenant_id: int, merchant_id: int, purchase_cents: int, at: datetime
) -> PreviewOut:
    """What a purchase would earn: base points and each applicable campaign's bonus.

    The daily cap is left out (it depends on what the shopper already earned that day).
    """
    tenant = await session.get(Tenant, tenant_id)
    merchant = await session.get(Merchant, merchant_id)
    if tenant is None or merchant is None or merchant.tenant_id != tenant_id:
        raise UnknownMerchant(f"No shop {merchant_id} in this municipality.", merchant_ids=[merchant_id])
    rate = rate_for(tenant, merchant)
    try:
        base, rate = earn_points(tenant, merchant, purchase_cents)
        below = False
    except PurchaseBelowMinimum:
        base, below = 0, True
    bonuses: list[PreviewBonus] = []
    campaigns = await session.scalars(
        select(Campaign)
        .where(Campaign.tenant_id == tenant_id, Campaign.trigger == CampaignTrigger.EARN, Campaign.active.is_(True))
        .order_by(Campaign.id)
    )
    for campaign in campaigns:
        if base <= 0 or not applies_to(campaign, merchant, at):
            continue
        wanted = bonus_points(campaign, base)
        if wanted <= 0:
            continue
        left = await budget_available(session, tenant_id=tenant_id, account_id=campaign.budget_account_id)  # type: ignore[arg-type]
        bonuses.append(
            PreviewBonus(
                campaign_id=campaign.id,  # type: ignore[arg-type]
                campaign_name=campaign.name,
                bonus_points=wanted,
                paid_points=min(wanted, left),
                budget_left=left,
                first_purchase_only=campaign.first_purchase_only,
            )
        )
    return PreviewOut(
        merchant_id=merchant_id,
        merchant_name=merchant.name,
        purchase_cents=purchase_cents,
        at=at,
        rate=rate,
        base_points=base,
        below_minimum=below,
        bonuses=bonuses,
        total_points=base + sum(b.paid_points for b in bonuses),
    )
