"""Post the small demo town's campaigns and expiry through the real services.

Campaign rows and their budgets go through ``backend.campaigns.service``; each earn in a
campaign's window is handed to the engine (``apply_campaign_bonuses``) exactly as the
till's earn does, and the nightly expiry run calls the expiry job's own steps
(``backend.expiry.service``) with the night's ``now``. The planner decided beforehand what
each should pay (its wallet balances depend on it); a difference means the plan no longer
follows the rules, and the demo stops rather than seed a town that disagrees with itself.

The services stamp their audit entries with the clock; the demo's history happened
earlier, so the entries get the moment the plan gives them (as the large town does).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.models import AuditEvent
from backend.auth.deps import Principal
from backend.auth.models import Role
from backend.campaigns.bonus import apply_campaign_bonuses
from backend.campaigns.models import Campaign
from backend.campaigns.rules import applies_to
from backend.campaigns.service import ENTITY, create_campaign, fund_campaign
from backend.demo.history import Earn, Expire, Fund
from backend.demo.town_campaigns import TownCampaign
from backend.expiry.service import candidate_wallets, expire_wallet, queue_notices
from backend.ledger.models import Account
from backend.ledger.transfers import PostedTransfer

if TYPE_CHECKING:
    from backend.demo.seed import TownIds


class PlanMismatch(RuntimeError):
    """The services paid or expired something else than the demo's plan expected."""


def admin(town: TownIds) -> Principal:
    if town.admin_id is None:
        raise LookupError("the demo town has no municipality admin to run its campaigns")
    return Principal(tenant_id=town.tenant.id, role=Role.MUNICIPALITY_ADMIN, user_id=town.admin_id)  # type: ignore[arg-type]


async def _date_audit(session: AsyncSession, *, town: TownIds, campaign_id: int, action: str, at: datetime) -> None:
    await session.execute(
        update(AuditEvent)
        .where(AuditEvent.tenant_id == town.tenant.id, AuditEvent.entity_type == ENTITY,
               AuditEvent.entity_id == str(campaign_id), AuditEvent.action == action)
        .values(created_at=at)
    )


async def create_campaigns(session: AsyncSession, town: TownIds, planned: list[TownCampaign]) -> list[Campaign]:
    """The campaign rows with their budget accounts, in plan order (the engine pays in id order)."""
    rows = []
    for campaign in planned:
        row = await create_campaign(session, principal=admin(town), fields=dict(campaign.fields),
                                    now=campaign.created_at)
        await _date_audit(session, town=town, campaign_id=row.id, action="campaign.create",  # type: ignore[arg-type]
                          at=campaign.created_at)
        rows.append(row)
    return rows


async def date_budget_accounts(session: AsyncSession, town: TownIds) -> None:
    """A budget account was opened with its campaign, not with the town."""
    for row in town.campaigns:
        await session.execute(update(Account).where(Account.id == row.budget_account_id)
                              .values(created_at=row.created_at))


async def fund(session: AsyncSession, town: TownIds, event: Fund) -> PostedTransfer:
    row = town.campaigns[event.campaign]
    transfer, _left = await fund_campaign(session, principal=admin(town), campaign_id=row.id,  # type: ignore[arg-type]
                                          points=event.points, idempotency_key=event.key, now=event.at)
    await _date_audit(session, town=town, campaign_id=row.id, action="campaign.fund", at=event.at)  # type: ignore[arg-type]
    return transfer


async def pay_bonuses(session: AsyncSession, town: TownIds, event: Earn, *, earn_transfer_id: int) -> int:
    """The engine's bonuses on one earn, as ``till.earn.post_earn`` asks for them; returns how many."""
    planned = [(town.campaigns[index].id, points) for index, points in event.bonuses]
    shop = town.merchants[event.merchant]
    if not any(applies_to(row, shop, event.at) for row in town.campaigns):
        awarded = []  # no campaign covers this earn: the engine would pay nothing (and cost queries)
    else:
        awarded = [(bonus.campaign_id, bonus.points) for bonus in await apply_campaign_bonuses(
            session,
            tenant=town.tenant,
            merchant=shop,
            shopper_id=town.shopper_ids[event.shopper],
            wallet_account_id=town.wallets[event.shopper],
            earn_points=event.points,
            earn_transfer_id=earn_transfer_id,
            purchase_cents=event.purchase_cents,
            now=event.at,
            idempotency_key=event.key,
        )]
    if awarded != planned:
        raise PlanMismatch(f"earn {event.key}: the campaign engine paid {awarded}, the plan expected {planned}")
    return len(awarded)


async def expire(session: AsyncSession, town: TownIds, event: Expire) -> int:
    """One run of the expiry job at ``event.at`` (``run_expiry``'s steps, in the demo's
    transaction); returns the number of expiry transfers."""
    shopper_of = {wallet: index for index, wallet in enumerate(town.wallets)}
    found = {}
    for wallet_id in await candidate_wallets(session, tenant=town.tenant, now=event.at):
        posted = await expire_wallet(session, tenant=town.tenant, wallet_id=wallet_id,
                                     breakage_id=town.breakage_id, now=event.at)
        await queue_notices(session, tenant=town.tenant, wallet_id=wallet_id, now=event.at)
        if posted:
            found[shopper_of[wallet_id]] = tuple(posted)
    if found != dict(event.lapsed):
        raise PlanMismatch(f"expiry run at {event.at}: the job expired {found}, the plan expected {dict(event.lapsed)}")
    return sum(len(days) for days in found.values())
