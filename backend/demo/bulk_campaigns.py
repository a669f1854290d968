"""The large demo town's campaigns: real ``Campaign`` rows, and the bonuses the engine would pay.

Set-up goes through the campaigns service (the row, its budget account, the audit entry).
The history then pays bonuses in memory by the engine's own rules
(``backend.campaigns.rules``: window, categories, rounding down, never more than the budget
has left, nothing more once it ran dry) and writes exactly the rows
``apply_campaign_bonuses`` and ``reverse_campaign_bonuses`` would: each transfer with the
same key, fingerprint, description and meta, and one ``CampaignAward`` per bonus. What the
engine keeps besides the ledger (``exhausted_at``, the funding's audit entry) is written at
the end, once the history knows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.models import AuditEvent
from backend.audit.service import record_audit
from backend.auth.deps import Principal
from backend.auth.models import Role
from backend.campaigns.models import Campaign
from backend.campaigns.rules import applies_to, bonus_points, reversed_bonus
from backend.campaigns.service import ENTITY, create_campaign
from backend.core.idempotency import request_fingerprint
from backend.merchants.models import FUN_SHOPPING, RUN_SHOPPING, Merchant, MerchantCategory

if TYPE_CHECKING:
    from backend.demo.bulk import BulkHistory, Day

CATEGORIES_OF_KIND = {"run": RUN_SHOPPING, "fun": FUN_SHOPPING, "horeca": {MerchantCategory.HORECA},
                      "services": {MerchantCategory.SERVICES}}
EVERY_KIND = frozenset(CATEGORIES_OF_KIND)


@dataclass
class PlannedCampaign:
    name: str
    description: str
    first: int  # day offsets of the history, inclusive
    last: int
    kinds: frozenset[str]  # shopping kinds (backend.merchants.models.shopping_kind)
    bonus_pct: int  # extra points in percent of the earn: 100 = double
    visit_boost: float  # how much more shoppers come to the shops it covers
    row: Campaign | None = None  # set up through the campaigns service
    budget: int = 0  # what the budget account has left, as the engine reads it
    exhausted_at: datetime | None = None
    funding: tuple[int, int, datetime] | None = None  # transfer id, points, when: for the audit entry

    @property
    def categories(self) -> list[str]:
        return sorted(str(c) for kind in self.kinds for c in CATEGORIES_OF_KIND[kind])


def campaign_budget(campaign: PlannedCampaign, *, shoppers: int) -> int:
    """What the municipality puts in: 40 points per shopper and day, so the demo's campaigns
    run their whole window (about ten times what they pay)."""
    return 40 * shoppers * (campaign.last - campaign.first + 1)


def plan_campaigns(start: date, days: int) -> list[PlannedCampaign]:
    found = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        if day.month == 12 and day.day == 1 and offset + 23 < days:
            found.append(PlannedCampaign(
                f"Kerstshopping {day.year}", "Dubbele punten op fun shopping (mode, schoenen, boeken, cadeaus, "
                "sport) van 1 tot en met 24 december.", offset, offset + 23, frozenset({"fun"}), 100, 1.25))
        if day.month == 4 and day.day == 14 and offset + 13 < days:
            found.append(PlannedCampaign(
                f"Lentesjop {day.year}", "De helft extra punten in elke winkel, horecazaak en dienst, "
                "twee weken lang.", offset, offset + 13, EVERY_KIND, 50, 1.2))
    if not found and days >= 21:
        middle = days // 2
        found.append(PlannedCampaign("Sjop lokaal", "De helft extra punten in elke winkel, horecazaak en dienst, "
                                     "twee weken lang.", middle, middle + 13, EVERY_KIND, 50, 1.2))
    return found


async def create_campaigns(session: AsyncSession, *, tenant_id: int, admin_user_id: int, start: date,
                           planned: list[PlannedCampaign]) -> None:
    """The campaign rows and their budget accounts, as the admin would make them a fortnight ahead."""
    from backend.demo.bulk import local_dt  # here: bulk imports this module

    principal = Principal(tenant_id=tenant_id, role=Role.MUNICIPALITY_ADMIN, user_id=admin_user_id)
    for campaign in planned:
        first_day = start + timedelta(days=campaign.first)
        created = local_dt(first_day - timedelta(days=14), 10.0)
        campaign.row = await create_campaign(session, principal=principal, now=created, fields={
            "name": campaign.name, "description": campaign.description,
            "multiplier_percent": 100 + campaign.bonus_pct, "categories": campaign.categories,
            # Whole Brussels days; ends_at is exclusive.
            "starts_at": local_dt(first_day, 0.0),
            "ends_at": local_dt(start + timedelta(days=campaign.last + 1), 0.0),
        })
        # The service stamps its audit entry with the clock; the demo's history happened earlier.
        await session.execute(update(AuditEvent).where(
            AuditEvent.tenant_id == tenant_id, AuditEvent.entity_type == ENTITY,
            AuditEvent.entity_id == str(campaign.row.id)).values(created_at=created))


async def finish_campaigns(session: AsyncSession, *, tenant_id: int, admin_user_id: int,
                           planned: list[PlannedCampaign]) -> None:
    """What the engine keeps outside the ledger: the funding's audit entry and ``exhausted_at``."""
    principal = Principal(tenant_id=tenant_id, role=Role.MUNICIPALITY_ADMIN, user_id=admin_user_id)
    for campaign in planned:
        assert campaign.row is not None
        if campaign.funding is not None:
            transfer_id, points, at = campaign.funding
            await record_audit(session, principal=principal, action="campaign.fund", entity_type=ENTITY,
                               entity_id=campaign.row.id, before=None,  # type: ignore[arg-type]
                               after={"points": points, "transfer_id": transfer_id}, now=at)
        if campaign.exhausted_at is not None:
            await session.execute(update(Campaign).where(Campaign.id == campaign.row.id)
                                  .values(exhausted_at=campaign.exhausted_at))


@dataclass(frozen=True, slots=True)
class PaidBonus:
    campaign: PlannedCampaign
    transfer_id: int
    points: int
    at: datetime


@dataclass
class CampaignBook:
    """The campaigns during the bulk history; ``shops`` are the merchant rows, by simulator index."""

    planned: list[PlannedCampaign]
    shops: list[Merchant]
    _running: list[PlannedCampaign] = field(default_factory=list)

    def start_day(self, history: BulkHistory, out: Day, *, offset: int, at: datetime) -> None:
        """On its first day the municipality funds a campaign (at ``at``), as ``fund_campaign`` books it."""
        for campaign in self.planned:
            if offset != campaign.first:
                continue
            row = campaign.row
            assert row is not None and row.budget_account_id is not None
            points = campaign_budget(campaign, shoppers=len(history.shoppers))
            campaign.budget += points
            campaign.exhausted_at = None
            transfer_id = history.transfer(
                out, kind="budget", debit=history.funding, credit=row.budget_account_id, amount=points, at=at,
                key=f"campaign:{row.id}:fund:{history.key_prefix}", description=f"Budget for campaign {row.name}",
                meta={"campaign_id": row.id}, user=history.staff.get("admin"),
                fingerprint=request_fingerprint("campaign:fund", {"campaign": row.id, "points": points}))
            campaign.funding = (transfer_id, points, at)
        # Only these can pay today: keeps the per-earn check off the campaigns of other days.
        self._running = [c for c in self.planned if c.first <= offset <= c.last]

    def pay(self, history: BulkHistory, out: Day, *, offset: int, at: datetime, shopper: int, m: int,
            earn_id: int, earn_key: str, points: int, purchase: int) -> list[PaidBonus]:
        """``apply_campaign_bonuses`` for one earn: each applicable campaign, in id order."""
        paid: list[PaidBonus] = []
        shop = self.shops[m]
        for campaign in self._running:
            row = campaign.row
            assert row is not None
            if campaign.exhausted_at is not None or not applies_to(row, shop, at):
                continue
            wanted = bonus_points(row, points)
            if wanted <= 0:
                continue
            amount = min(wanted, campaign.budget)
            if amount <= 0:
                campaign.exhausted_at = at
                continue
            merchant_id, shopper_id = history.merchant_ids[m], history.shopper_ids[shopper]
            transfer_id = history.transfer(
                out, kind="bonus", debit=row.budget_account_id, credit=history.wallets[shopper],  # type: ignore[arg-type]
                amount=amount, at=at, key=f"{earn_key}:bonus:{row.id}", description=f"Bonus: {row.name}",
                meta={"campaign_id": row.id, "campaign_name": row.name, "requested_points": wanted,
                      "earn_transfer_id": earn_id, "merchant_id": merchant_id, "purchase_cents": purchase,
                      "earn_points": points},
                fingerprint=request_fingerprint("campaign:bonus", {"campaign": row.id, "earn": earn_id,
                                                                   "shopper": shopper_id}))
            history.ids.award += 1
            out.awards.append({"id": history.ids.award, "tenant_id": history.tenant_id, "campaign_id": row.id,
                               "shopper_id": shopper_id, "merchant_id": merchant_id, "earn_transfer_id": earn_id,
                               "bonus_transfer_id": transfer_id, "points": amount, "requested_points": wanted,
                               "created_at": at})
            campaign.budget -= amount
            if amount < wanted:
                campaign.exhausted_at = at
            history.credit_wallet(shopper, amount, offset)
            history.fact(out, "bonus", merchant_id, shopper_id, at, 1, 0, amount)
            paid.append(PaidBonus(campaign, transfer_id, amount, at))
        return paid

    def reverse(self, history: BulkHistory, out: Day, *, paid: list[PaidBonus], earn_id: int, earned: int,
                taken_back: int, undo_key: str, shopper: int, m: int, at: datetime) -> None:
        """``reverse_campaign_bonuses``: the bonuses of an undone earn go back to their budgets."""
        merchant_id, shopper_id = history.merchant_ids[m], history.shopper_ids[shopper]
        for bonus in paid:
            points = reversed_bonus(bonus.points, earned=earned, taken_back=taken_back)
            if points <= 0:
                continue
            row = bonus.campaign.row
            assert row is not None
            description = f"Bonus back to {row.name} (earn {earn_id} reversed)"
            meta = {"campaign_id": row.id, "earn_transfer_id": earn_id}
            history.transfer(
                out, kind="reversal", debit=history.wallets[shopper], credit=row.budget_account_id,  # type: ignore[arg-type]
                amount=points, at=at, key=f"{undo_key}:bonus:{row.id}", description=description,
                meta={**meta, "reversed_kind": "bonus"}, reverses=bonus.transfer_id,
                fingerprint=request_fingerprint("reversal", {"transfer": bonus.transfer_id, "amount": points,
                                                             "description": description, "meta": meta}))
            history.debit_wallet(shopper, points)
            bonus.campaign.budget += points
            bonus.campaign.exhausted_at = None  # points came back: the campaign can pay again
            # The rollup books a reversal on the row of the bonus it reverses.
            history.fact(out, "bonus", merchant_id, shopper_id, bonus.at, -1 if points == bonus.points else 0, 0,
                         -points)
