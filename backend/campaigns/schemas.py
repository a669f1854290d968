from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from backend.campaigns.rules import BRUSSELS
from backend.core.ids import IdField
from backend.core.pagination import Page
from backend.merchants.models import MerchantCategory
from backend.till.rules import MAX_PURCHASE_CENTS

ROUNDING = (
    "Rounding is always down: a multiplier of M% adds floor(earned x (M - 100) / 100) "
    "points to the points the earn credited (after the daily cap); campaigns that apply "
    "together each add their own bonus from the same earned points; a bonus never exceeds "
    "what is left in the campaign's budget."
)


def _brussels_if_naive(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=BRUSSELS)
    return value


def _unique(values: list) -> list:  # type: ignore[type-arg]
    return list(dict.fromkeys(values))


LocalTime = Annotated[datetime, AfterValidator(_brussels_if_naive)]
Weekday = Annotated[StrictInt, Field(ge=1, le=7)]
Village = Annotated[StrictStr, Field(min_length=1, max_length=100)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CampaignFields(StrictModel):
    name: Annotated[StrictStr | None, Field(default=None, min_length=2, max_length=120)] = None
    description: Annotated[StrictStr | None, Field(default=None, max_length=1000)] = None
    multiplier_percent: Annotated[
        StrictInt | None,
        Field(default=None, ge=101, le=1000, description="200 = double points. " + ROUNDING),
    ] = None
    fixed_points: Annotated[StrictInt | None, Field(default=None, ge=1, le=1_000_000)] = None
    starts_at: Annotated[
        LocalTime | None, Field(default=None, description="ISO 8601; without an offset it is Europe/Brussels time")
    ] = None
    ends_at: Annotated[LocalTime | None, Field(default=None, description="Exclusive; empty = open-ended")] = None
    weekdays: Annotated[
        list[Weekday] | None,
        Field(default=None, max_length=7, description="ISO weekdays in Brussels (1 = Monday); empty = every day"),
        AfterValidator(lambda v: _unique(v) if v is not None else None),
    ] = None
    categories: Annotated[
        list[MerchantCategory] | None,
        Field(default=None, max_length=20),
        AfterValidator(lambda v: _unique(v) if v is not None else None),
    ] = None
    villages: Annotated[list[Village] | None, Field(default=None, max_length=20)] = None
    merchant_ids: Annotated[list[IdField] | None, Field(default=None, max_length=200)] = None
    first_purchase_only: Annotated[
        StrictBool | None, Field(default=None, description="Discovery bonus: only a shopper's first earn at a shop")
    ] = None
    active: StrictBool | None = None


class CampaignIn(CampaignFields):
    name: Annotated[StrictStr, Field(min_length=2, max_length=120)]  # type: ignore[assignment]
    trigger: Literal["earn", "signup"] = "earn"


class CampaignPatch(CampaignFields):
    pass


class BudgetOut(BaseModel):
    """``left`` = funded - bonus_paid + bonus_reversed - returned, as in the ledger."""

    funded: int
    bonus_paid: int
    bonus_reversed: int
    bonus_kept: int = Field(
        default=0,
        description="Bonus of undone or refunded earns not taken back: the shopper had already spent it "
        "(part of bonus_paid, never reversed)",
    )
    returned: int
    left: int


class CampaignOut(BaseModel):
    id: int
    name: str
    description: str
    trigger: str
    multiplier_percent: int | None
    fixed_points: int | None
    starts_at: datetime
    ends_at: datetime | None
    weekdays: list[int]
    categories: list[str]
    villages: list[str]
    merchant_ids: list[int]
    first_purchase_only: bool
    active: bool
    status: Literal["running", "scheduled", "ended", "stopped", "exhausted"]
    exhausted_at: datetime | None
    budget_account_id: int
    created_at: datetime
    updated_at: datetime
    budget: BudgetOut | None = None
    awards: int | None = None


CampaignPage = Page[CampaignOut]


class FundIn(StrictModel):
    points: Annotated[StrictInt, Field(gt=0, le=10**9)]


class FundOut(BaseModel):
    transfer_id: int
    points: int
    budget_left: int


class PreviewIn(StrictModel):
    merchant_id: IdField
    purchase_cents: Annotated[StrictInt, Field(gt=0, le=MAX_PURCHASE_CENTS)]
    at: Annotated[LocalTime | None, Field(default=None, description="When; default now; naive = Brussels")] = None


class PreviewBonus(BaseModel):
    campaign_id: int
    campaign_name: str
    bonus_points: int = Field(description="What the rules give (rounded down)")
    paid_points: int = Field(description="What the budget can pay now")
    budget_left: int
    first_purchase_only: bool


class PreviewOut(BaseModel):
    merchant_id: int
    merchant_name: str
    purchase_cents: int
    at: datetime
    rate: int
    base_points: int
    below_minimum: bool
    bonuses: list[PreviewBonus]
    total_points: int = Field(description="Base plus the bonuses paid now (a first visit gets the discovery ones)")
    rounding: str = ROUNDING
