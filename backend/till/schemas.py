from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator

from backend.ledger.transfers import MAX_AMOUNT
from backend.till.rules import MAX_PURCHASE_CENTS

if TYPE_CHECKING:
    from backend.till.reversals import EarnReversal

Scan = Annotated[
    StrictStr,
    Field(min_length=1, max_length=2000, description="What the scanner typed or the camera read"),
]
Cents = Annotated[
    StrictInt, Field(gt=0, le=MAX_PURCHASE_CENTS, description="Euro cents, at least 1")
]
Points = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT, description="Whole points, at least 1")]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IdentifyIn(StrictModel):
    scan: Scan
    purpose: Literal["earn", "spend"] = "earn"


class IdentifyOut(BaseModel):
    kind: Literal["wallet", "card"]
    display: str
    card_last4: str | None = None
    needs_pin: bool
    available_points: int | None = None
    token_expires_at: datetime | None = None


class EarnIn(StrictModel):
    scan: Scan
    purchase_cents: Cents


class BonusOut(BaseModel):
    campaign_id: int
    campaign_name: str
    points: int
    transfer_id: int


class EarnOut(BaseModel):
    transfer_id: int
    points: int
    bonus_points: int = Field(default=0, description="Campaign bonuses on top of points (rounded down)")
    bonuses: list[BonusOut] = Field(default_factory=list)
    purchase_cents: int
    capped: bool
    shopper_display: str
    undo_until: datetime
    created_at: datetime


class Empty(StrictModel):
    pass


class RefundIn(StrictModel):
    refund_cents: Cents


class BonusReversalOut(BaseModel):
    campaign_id: int
    campaign_name: str
    points: int = Field(description="Bonus points taken back to the campaign's budget")
    kept_points: int = Field(description="Bonus points the shopper had already spent: not taken back")
    transfer_id: int | None = Field(description="The bonus's reversal; none when nothing came back")


class ReversalOut(BaseModel):
    reversal_transfer_id: int
    points: int = Field(description="The shop's own points taken back")
    bonus_points: int = Field(default=0, description="Campaign bonus points taken back")
    bonus_points_kept: int = Field(
        default=0, description="Campaign bonus points not taken back because the shopper had already spent them"
    )
    bonuses: list[BonusReversalOut] = Field(default_factory=list)

    @classmethod
    def of(cls, done: EarnReversal) -> ReversalOut:
        return cls(
            reversal_transfer_id=done.transfer.id,
            points=done.transfer.amount,
            bonus_points=done.bonus_points,
            bonus_points_kept=done.bonus_points_kept,
            bonuses=[
                BonusReversalOut(campaign_id=b.campaign_id, campaign_name=b.campaign_name, points=b.taken_back,
                                 kept_points=b.kept, transfer_id=b.transfer_id)
                for b in done.bonuses
            ],
        )


class RedemptionIn(StrictModel):
    scan: Scan
    points: Points | None = None
    discount_cents: Cents | None = None
    pin: Annotated[StrictStr | None, Field(default=None, min_length=1, max_length=12)] = None

    @model_validator(mode="after")
    def _one_amount(self) -> RedemptionIn:
        if (self.points is None) == (self.discount_cents is None):
            raise ValueError("send either points or discount_cents")
        return self


class HoldOut(BaseModel):
    hold_id: int
    points: int
    discount_cents: int
    expires_at: datetime
    shopper_display: str
    status: str


class CaptureOut(BaseModel):
    transfer_id: int
    points: int
    discount_cents: int


class ClaimIn(StrictModel):
    purchase_cents: Cents


class ClaimCreated(BaseModel):
    claim_id: int
    qr_text: str
    qr_svg: str
    points: int
    expires_at: datetime


class ClaimStatusOut(BaseModel):
    claim_id: int
    points: int
    status: Literal["open", "claimed", "expired"]
    claimed_at: datetime | None
    expires_at: datetime


class TodayEarn(BaseModel):
    transfer_id: int
    points: int
    purchase_cents: int
    capped: bool
    via: Literal["wallet", "card", "claim"]
    reversed_points: int
    refunded_cents: int
    undone: bool
    created_at: datetime


class TodayRedemption(BaseModel):
    transfer_id: int
    hold_id: int | None
    points: int
    discount_cents: int
    created_at: datetime


class TodayTotals(BaseModel):
    earn_count: int
    points_issued: int
    purchase_cents: int
    redemption_count: int
    points_redeemed: int
    discount_cents: int


class TodayOut(BaseModel):
    date: date
    earns: list[TodayEarn]
    redemptions: list[TodayRedemption]
    totals: TodayTotals


class FloatOut(BaseModel):
    balance: int
    available: int = Field(description="Points the till can still issue, credit limit included")
    credit_limit: int
    last_topup: int | None
    low: bool


class WalletQrOut(BaseModel):
    qr_text: str
    short_code: str
    qr_svg: str
    expires_at: datetime
    refresh_in_seconds: int


class MeClaimIn(StrictModel):
    qr_text: Annotated[StrictStr, Field(min_length=1, max_length=2000)]


class MeClaimOut(BaseModel):
    transfer_id: int
    points: int
    bonus_points: int = 0
    bonuses: list[BonusOut] = Field(default_factory=list)
    merchant_name: str
