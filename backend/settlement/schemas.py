from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt


class ClosePeriodIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: StrictInt = Field(ge=2000, le=2200)
    month: StrictInt = Field(ge=1, le=12)


class PeriodOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    year: int
    month: int
    starts_at: datetime
    ends_at: datetime
    closed_at: datetime
    point_value_cents: int
    line_count: int
    totals: dict[str, Any] = Field(description="movements by figure and positions at the close, in points")


class StatementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    period_id: int
    merchant_id: int
    merchant_name: str
    language: str
    point_value_cents: int
    points_issued: int
    issued_reversed: int
    bonus_points: int
    bonus_reversed: int
    points_redeemed: int
    redeemed_reversed: int
    points_paid_out: int
    float_topups: int
    float_clawbacks: int
    float_opening: int
    float_closing: int
    owed_opening: int
    owed_closing: int
    net_amount_cents: int
    owed_closing_cents: int
    line_count: int
    created_at: datetime


class ClosedPeriodOut(BaseModel):
    period: PeriodOut
    statements: list[StatementOut]


class PayoutOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    merchant_id: int
    statement_id: int
    points: int
    amount_cents: int
    creditor_name: str
    creditor_iban: str
    end_to_end_id: str
    status: str
    transfer_id: int | None
    paid_at: datetime | None


class PayoutBatchOut(BaseModel):
    id: int
    period_id: int
    message_id: str
    status: str
    payout_count: int
    total_cents: int
    created_at: datetime
    confirmed_at: datetime | None
    payouts: list[PayoutOut]


class BankAccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    iban: str = Field(min_length=15, max_length=42)
    bic: str | None = Field(default=None, min_length=8, max_length=11)


class BankAccountOut(BaseModel):
    name: str
    iban: str | None
    bic: str | None


class LiabilityOut(BaseModel):
    outstanding_points: int = Field(description="Sum of all shopper wallet balances")
    reserved_points: int = Field(description="Of which held by open redemptions at a till")
    outstanding_cents: int
    point_value_cents: int
    entries_points: int = Field(description="The same sum computed from the ledger entries")
    consistent: bool
    owed_to_merchants_points: int
    owed_to_merchants_cents: int
    positions: dict[str, int]
