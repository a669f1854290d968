"""Campaign arithmetic and eligibility, as pure functions.

One rounding rule everywhere: **down**. A multiplier of M percent adds
``floor(earned x (M - 100) / 100)`` points, ``earned`` being the points the earn
actually credited (after the daily cap). Several campaigns that apply to the same earn
each add their own bonus computed from that same ``earned`` (they add up, they do
not compound). A bonus is never more than what is left in the campaign's budget.
A refund takes back ``floor(bonus x points taken back / points earned)``.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from backend.campaigns.models import Campaign
from backend.merchants.models import Merchant

BRUSSELS = ZoneInfo("Europe/Brussels")


def bonus_points(campaign: Campaign, earned: int) -> int:
    """The bonus the rules give for ``earned`` points, before the budget is considered."""
    if campaign.fixed_points is not None:
        return campaign.fixed_points if earned > 0 or campaign.trigger == "signup" else 0
    assert campaign.multiplier_percent is not None
    return earned * (campaign.multiplier_percent - 100) // 100


def reversed_bonus(bonus: int, *, earned: int, taken_back: int) -> int:
    """The part of a bonus a refund takes back: proportional, rounded down."""
    if earned <= 0:
        return 0
    return min(bonus, bonus * taken_back // earned)


def in_window(campaign: Campaign, at: datetime) -> bool:
    if at < campaign.starts_at:
        return False
    if campaign.ends_at is not None and at >= campaign.ends_at:
        return False
    return not (campaign.weekdays and at.astimezone(BRUSSELS).isoweekday() not in campaign.weekdays)


def applies_to(campaign: Campaign, merchant: Merchant, at: datetime) -> bool:
    """Whether an earn at ``merchant`` at ``at`` qualifies (budget and first visit aside)."""
    if not campaign.active or not in_window(campaign, at):
        return False
    if campaign.categories and merchant.category not in campaign.categories:
        return False
    if campaign.villages and merchant.village.casefold() not in {v.casefold() for v in campaign.villages}:
        return False
    return not (campaign.merchant_ids and merchant.id not in campaign.merchant_ids)
