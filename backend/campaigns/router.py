"""Campaigns over HTTP: admins create, change, fund, stop and start; auditors read.

Rounding is always down (see ``backend.campaigns.rules``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import AdminReader, AdminWriter
from backend.campaigns import service
from backend.campaigns.errors import CampaignNotFound, InvalidCampaign, UnknownMerchant
from backend.campaigns.schemas import (
    ROUNDING,
    CampaignIn,
    CampaignOut,
    CampaignPage,
    CampaignPatch,
    FundIn,
    FundOut,
    PreviewIn,
    PreviewOut,
)
from backend.core.errors import (
    Forbidden,
    IdempotencyKeyInvalid,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    Unauthorized,
    problem_responses,
)
from backend.core.idempotency import idempotency_key_header
from backend.core.ids import IdPath
from backend.core.pagination import InvalidCursor, PageParams, next_cursor, page_params
from backend.core.routing import TransactionalRoute, get_session
from backend.core.types import utcnow

router = APIRouter(route_class=TransactionalRoute, tags=["campaigns"])

Session = Annotated[AsyncSession, Depends(get_session)]
IdempotencyKey = Annotated[str, Depends(idempotency_key_header)]
AUTH = (Unauthorized, Forbidden)


@router.post(
    "/campaigns",
    response_model=CampaignOut,
    status_code=201,
    responses=problem_responses(*AUTH, InvalidCampaign, UnknownMerchant),
    description="Create a campaign (multiplier or fixed bonus, or a welcome bonus with trigger=signup). "
    "Its budget account starts empty: fund it with POST /campaigns/{id}/fund. " + ROUNDING,
)
async def create_campaign(body: CampaignIn, principal: AdminWriter, session: Session) -> CampaignOut:
    now = utcnow()
    campaign = await service.create_campaign(
        session, principal=principal, fields=body.model_dump(exclude_unset=True), now=now
    )
    return await service.campaign_out(session, campaign, now=now, detail=True)


@router.get("/campaigns", response_model=CampaignPage, responses=problem_responses(*AUTH, InvalidCursor))
async def list_campaigns(
    principal: AdminReader, session: Session, page: Annotated[PageParams, Depends(page_params)]
) -> CampaignPage:
    """Campaigns, newest first."""
    now = utcnow()
    rows = await service.list_campaigns(
        session, tenant_id=principal.tenant_id, limit=page.limit, before_id=page.before_id
    )
    return CampaignPage(
        items=[await service.campaign_out(session, c, now=now, detail=False) for c in rows[: page.limit]],
        next_cursor=next_cursor([c.id for c in rows], page.limit),  # type: ignore[misc]
    )


@router.post(
    "/campaigns/preview",
    response_model=PreviewOut,
    responses=problem_responses(*AUTH, UnknownMerchant),
    description="What would a purchase at a shop at a given moment earn: base points and each "
    "applicable campaign's bonus. Writes nothing. " + ROUNDING,
)
async def preview(body: PreviewIn, principal: AdminReader, session: Session) -> PreviewOut:
    return await service.preview(
        session,
        tenant_id=principal.tenant_id,
        merchant_id=body.merchant_id,
        purchase_cents=body.purchase_cents,
        at=body.at or utcnow(),
    )


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut, responses=problem_responses(*AUTH, CampaignNotFound))
async def get_campaign(campaign_id: IdPath, principal: AdminReader, session: Session) -> CampaignOut:
    """One campaign with its budget: funded, paid, reversed, returned, left."""
    campaign = await service.get_campaign(session, tenant_id=principal.tenant_id, campaign_id=campaign_id)
    return await service.campaign_out(session, campaign, now=utcnow(), detail=True)


@router.patch(
    "/campaigns/{campaign_id}",
    response_model=CampaignOut,
    responses=problem_responses(*AUTH, CampaignNotFound, InvalidCampaign, UnknownMerchant),
    description="Change a campaign's rules. Bonuses already paid never change. " + ROUNDING,
)
async def update_campaign(
    campaign_id: IdPath, body: CampaignPatch, principal: AdminWriter, session: Session
) -> CampaignOut:
    now = utcnow()
    campaign = await service.update_campaign(
        session, principal=principal, campaign_id=campaign_id, changes=body.model_dump(exclude_unset=True), now=now
    )
    return await service.campaign_out(session, campaign, now=now, detail=True)


async def _set_active(principal: AdminWriter, session: AsyncSession, campaign_id: int, active: bool) -> CampaignOut:
    now = utcnow()
    campaign = await service.update_campaign(
        session,
        principal=principal,
        campaign_id=campaign_id,
        changes={"active": active},
        now=now,
        action="campaign.start" if active else "campaign.stop",
    )
    return await service.campaign_out(session, campaign, now=now, detail=True)


@router.post("/campaigns/{campaign_id}/stop", response_model=CampaignOut, responses=problem_responses(*AUTH, CampaignNotFound))
async def stop_campaign(campaign_id: IdPath, principal: AdminWriter, session: Session) -> CampaignOut:
    """Stop paying bonuses now (the budget stays; start again any time)."""
    return await _set_active(principal, session, campaign_id, False)


@router.post("/campaigns/{campaign_id}/start", response_model=CampaignOut, responses=problem_responses(*AUTH, CampaignNotFound))
async def start_campaign(campaign_id: IdPath, principal: AdminWriter, session: Session) -> CampaignOut:
    return await _set_active(principal, session, campaign_id, True)


@router.post(
    "/campaigns/{campaign_id}/fund",
    response_model=FundOut,
    status_code=201,
    responses=problem_responses(
        *AUTH, CampaignNotFound, IdempotencyKeyMissing, IdempotencyKeyInvalid, IdempotencyKeyReused
    ),
)
async def fund_campaign(
    campaign_id: IdPath, body: FundIn, principal: AdminWriter, session: Session, key: IdempotencyKey, response: Response
) -> FundOut:
    """Move points from the municipality's funding into the campaign's budget (ledger ``budget``)."""
    transfer, left = await service.fund_campaign(
        session, principal=principal, campaign_id=campaign_id, points=body.points, idempotency_key=key, now=utcnow()
    )
    if transfer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return FundOut(transfer_id=transfer.id, points=transfer.amount, budget_left=left)
