from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from backend.core.ids import IdField
from backend.ledger.models import AccountType
from backend.ledger.transfers import MAX_AMOUNT

Points = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT, description="Whole points, at least 1")]
Description = Annotated[str | None, Field(default=None, max_length=500)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccountCreate(StrictModel):
    type: AccountType
    name: Annotated[str, Field(min_length=1, max_length=200)]
    code: Annotated[str | None, Field(default=None, min_length=1, max_length=120, pattern=r"^[a-z0-9:_\-.]+$")] = None
    merchant_id: IdField | None = None
    shopper_id: IdField | None = None
    shard_count: Annotated[StrictInt | None, Field(default=None, ge=1, le=64)] = None
    credit_limit: Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT)] = 0


class CreditLimitUpdate(StrictModel):
    credit_limit: Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT)]


class BalanceOut(BaseModel):
    account_id: int
    balance: int
    pending: int
    available: int
    floor: int | None = Field(description="Lowest balance allowed; null when unbounded")


class AccountOut(BaseModel):
    id: int
    type: AccountType
    code: str
    name: str
    merchant_id: int | None
    shopper_id: int | None
    shard_count: int
    credit_limit: int
    created_at: datetime
    balance: BalanceOut | None = None


class TransferCreate(StrictModel):
    kind: Annotated[str, Field(min_length=1, max_length=32)]
    debit_account_id: IdField
    credit_account_id: IdField
    amount: Points
    description: Description = None
    meta: Annotated[dict[str, Any], Field(default_factory=dict, max_length=20)]


class ReversalCreate(StrictModel):
    amount: Points | None = Field(default=None, description="Omit to reverse the whole transfer")
    description: Description = None


class TransferOut(BaseModel):
    id: int
    kind: str
    debit_account_id: int
    credit_account_id: int
    amount: int
    reverses_transfer_id: int | None
    hold_id: int | None
    description: str | None
    meta: dict[str, Any]
    idempotency_key: str
    created_by_user_id: int | None
    created_at: datetime


class EntryOut(BaseModel):
    id: int
    transfer_id: int
    account_id: int
    amount: int
    kind: str
    counterparty_account_id: int
    reverses_transfer_id: int | None
    description: str | None
    created_at: datetime


class HoldCreate(StrictModel):
    kind: Annotated[str, Field(min_length=1, max_length=32)] = "redeem"
    debit_account_id: IdField
    credit_account_id: IdField
    amount: Points
    timeout_seconds: Annotated[StrictInt | None, Field(default=None, ge=1, le=86_400)] = None
    description: Description = None
    meta: Annotated[dict[str, Any], Field(default_factory=dict, max_length=20)]


class HoldCapture(StrictModel):
    amount: Points | None = Field(default=None, description="Omit to capture the whole hold")
    description: Description = None


class HoldOut(BaseModel):
    id: int
    kind: str
    debit_account_id: int
    credit_account_id: int
    amount: int
    status: str
    expires_at: datetime
    captured_amount: int | None
    description: str | None
    meta: dict[str, Any]
    idempotency_key: str
    created_at: datetime
    resolved_at: datetime | None


class VerifyOut(BaseModel):
    ok: bool
    accounts: int
    transfers: int
    entries: int
    sealed: int
    unsealed: int
    total_balance: int
    problems: list[str]
