"""Taking campaign bonuses back when their earn is undone or refunded.

The shop's own points come first: the till reverses them, or refuses when the wallet no
longer holds them. Each bonus is then taken back in proportion (``rules.reversed_bonus``)
as far as the wallet still holds points after that, campaigns in the order they paid.
What the shopper already spent is not taken (a wallet never goes below zero): it stays
paid by the campaign and is recorded as *kept* in the earn reversal's meta
(``bonus_reversals``), which the campaign's figures and the till's answer are read from.
So the campaign budget stays exactly ``funded - paid + reversed - returned`` in the
ledger, and a retried undo reads the same record instead of computing it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.campaigns.bonus import bonuses_for_earn
from backend.campaigns.models import Campaign, CampaignAward
from backend.campaigns.rules import reversed_bonus
from backend.ledger.models import Transfer
from backend.ledger.transfers import PostedTransfer, find_by_key, reverse_transfer

META_KEY = "bonus_reversals"


@dataclass(frozen=True, slots=True)
class BonusReversal:
    """One campaign's bonus on a reversed earn: what the rules asked back and what came back."""

    campaign_id: int
    campaign_name: str
    bonus_transfer_id: int
    wanted: int
    taken_back: int
    transfer_id: int | None = None  # the reversal of the bonus, when points came back

    @property
    def kept(self) -> int:
        return self.wanted - self.taken_back

    def as_meta(self) -> dict[str, int]:
        return {
            "campaign_id": self.campaign_id,
            "bonus_transfer_id": self.bonus_transfer_id,
            "wanted_points": self.wanted,
            "taken_back_points": self.taken_back,
            "kept_points": self.kept,
        }


async def plan_bonus_reversals(
    session: AsyncSession, *, tenant_id: int, earn_transfer_id: int, earned: int, taken_back: int, wallet_left: int
) -> list[BonusReversal]:
    """What each bonus gives back when ``wallet_left`` points stay after the earn's own reversal.

    The caller holds the wallet's lock, so ``wallet_left`` stays true until it commits.
    """
    planned: list[BonusReversal] = []
    left = max(wallet_left, 0)
    for bonus in await bonuses_for_earn(session, tenant_id=tenant_id, earn_transfer_id=earn_transfer_id):
        wanted = reversed_bonus(bonus.points, earned=earned, taken_back=taken_back)
        if wanted <= 0:
            continue
        take = min(wanted, left)
        left -= take
        planned.append(BonusReversal(bonus.campaign_id, bonus.campaign_name, bonus.transfer_id, wanted, take))
    return planned


def plan_meta(planned: list[BonusReversal]) -> dict[str, Any]:
    """The earn reversal's record of its bonuses (nothing for an earn without one)."""
    return {META_KEY: [item.as_meta() for item in planned]} if planned else {}


def _bonus_key(idempotency_key: str, campaign_id: int) -> str:
    return f"{idempotency_key}:bonus:{campaign_id}"


async def reverse_campaign_bonuses(
    session: AsyncSession,
    *,
    tenant_id: int,
    earn_transfer_id: int,
    planned: list[BonusReversal],
    idempotency_key: str,
    created_by_user_id: int | None,
    now: datetime,
) -> None:
    """Post the planned bonus reversals (budget <- wallet); each bonus is reversed at most once."""
    for item in planned:
        if item.taken_back <= 0:
            continue
        meta: dict[str, Any] = {"campaign_id": item.campaign_id, "earn_transfer_id": earn_transfer_id}
        if item.kept:
            meta.update(wanted_points=item.wanted, kept_points=item.kept)
        await reverse_transfer(
            session,
            tenant_id=tenant_id,
            transfer_id=item.bonus_transfer_id,
            idempotency_key=_bonus_key(idempotency_key, item.campaign_id),
            amount=item.taken_back,
            description=f"Bonus back to {item.campaign_name} (earn {earn_transfer_id} reversed)",
            meta=meta,
            created_by_user_id=created_by_user_id,
            now=now,
        )
        # Points came back: the campaign can pay again.
        await session.execute(
            update(Campaign)
            .where(Campaign.id == item.campaign_id, Campaign.exhausted_at.is_not(None))
            .values(exhausted_at=None)
            .execution_options(synchronize_session=False)
        )


async def recorded_bonus_reversals(
    session: AsyncSession, *, tenant_id: int, earn_reversal: PostedTransfer
) -> list[BonusReversal]:
    """The bonuses of an earn reversal as it recorded them, with their reversal transfers."""
    items = (earn_reversal.meta or {}).get(META_KEY) or []
    if not items:
        return []
    names = dict(
        (
            await session.execute(
                select(Campaign.id, Campaign.name).where(
                    Campaign.tenant_id == tenant_id, Campaign.id.in_([int(i["campaign_id"]) for i in items])
                )
            )
        ).all()
    )
    found: list[BonusReversal] = []
    for item in items:
        campaign_id, taken_back = int(item["campaign_id"]), int(item["taken_back_points"])
        transfer = None
        if taken_back > 0:
            transfer = await find_by_key(
                session, tenant_id=tenant_id, idempotency_key=_bonus_key(earn_reversal.idempotency_key, campaign_id)
            )
        found.append(
            BonusReversal(
                campaign_id=campaign_id,
                campaign_name=names.get(campaign_id, ""),
                bonus_transfer_id=int(item["bonus_transfer_id"]),
                wanted=int(item["wanted_points"]),
                taken_back=taken_back,
                transfer_id=transfer.id if transfer is not None else None,
            )
        )
    return found


async def bonus_kept(session: AsyncSession, *, campaign: Campaign) -> int:
    """Bonus points of undone or refunded earns the shoppers had already spent (stay paid)."""
    t = Transfer.__table__
    earns = select(CampaignAward.earn_transfer_id).where(
        CampaignAward.campaign_id == campaign.id, CampaignAward.earn_transfer_id.is_not(None)
    )
    metas = (
        await session.execute(
            select(t.c.meta).where(t.c.tenant_id == campaign.tenant_id, t.c.reverses_transfer_id.in_(earns))
        )
    ).scalars()
    return sum(
        int(item.get("kept_points", 0))
        for meta in metas
        for item in (meta or {}).get(META_KEY) or []
        if item.get("campaign_id") == campaign.id
    )

