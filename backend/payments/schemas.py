from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt


class TopUpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount_cents: StrictInt = Field(description="Euro cents to pay; a whole number of points")


class TopUpOut(BaseModel):
    id: int
    merchant_id: int
    amount_cents: int
    points: int
    status: str
    checkout_url: str | None
    checkout_session_id: str | None
    paid_cents: int
    refunded_cents: int
    disputed_cents: int
    reinstated_cents: int = Field(description="Disputed cents the municipality won back")
    clawed_back_points: int
    debt_points: int
    reinstated_points: int = Field(description="Clawed-back points given back to the float after a won dispute")
    debt_cancelled_points: int = Field(description="Float debt cancelled after a won dispute, before it was collected")
    created_at: datetime
    paid_at: datetime | None


class MerchantFloatOut(BaseModel):
    merchant_id: int
    balance: int
    available: int
    credit_limit: int
    last_topup: int | None
    low: bool
    debt_points: int = Field(description="Points refunds took back that the float could not give; repaid first by the next top-up")
    point_value_cents: int


class WebhookOut(BaseModel):
    received: bool
    outcome: str


class ReconciledPayment(BaseModel):
    topup_id: int
    merchant_id: int
    status: str
    created_at: datetime
    checkout_session_id: str | None
    payment_intent_id: str | None
    amount_cents: int
    paid_cents: int
    refunded_cents: int
    disputed_cents: int
    reinstated_cents: int
    points: int
    credited_points: int
    credit_transfer_ids: list[int]
    clawed_back_points: int
    debt_points: int
    reinstated_points: int = Field(description="Clawbacks of this top-up reversed in the ledger (won dispute)")
    debt_cancelled_points: int
    net_taken_back_points: int = Field(
        description="clawed_back + debt - reinstated - debt_cancelled; equals what Stripe's facts make due back"
    )
    flags: list[str]


class LedgerTopUp(BaseModel):
    transfer_id: int
    points: int
    created_at: datetime


class ReconciliationOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    ok: bool
    flagged_count: int
    payments: list[ReconciledPayment]
    ledger_topups_without_payment: list[LedgerTopUp]
