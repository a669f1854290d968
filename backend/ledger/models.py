"""Ledger tables: accounts, their balance shards, transfers, entries, holds and the seal chain.

Transfers and entries are append-only (database triggers refuse UPDATE and DELETE, see
the migration). Balances live in ``account_balance`` rows, one per shard: a hot account
(a busy merchant float, the funding account) is split over several shards so concurrent
transfers lock different rows instead of queueing on one. The account balance is the sum
of its shards and always equals the sum of its entries.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from backend.core.types import BigIntId, UTCDateTime, utcnow


class AccountType(enum.StrEnum):
    FUNDING = "funding"
    MERCHANT_FLOAT = "merchant_float"
    CAMPAIGN_BUDGET = "campaign_budget"
    SHOPPER_WALLET = "shopper_wallet"
    MERCHANT_REDEEMED = "merchant_redeemed"
    PAYOUTS = "payouts"
    BREAKAGE = "breakage"


class HoldStatus(enum.StrEnum):
    PENDING = "pending"
    CAPTURED = "captured"
    VOIDED = "voided"
    EXPIRED = "expired"


class Account(SQLModel, table=True):
    __tablename__ = "account"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        Index(None, "tenant_id", "type"),
        CheckConstraint("shard_count BETWEEN 1 AND 64", name="shard_count_range"),
        CheckConstraint("credit_limit >= 0", name="credit_limit_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger)
    type: str = Field(max_length=32)
    code: str = Field(max_length=120)
    name: str = Field(max_length=200)
    merchant_id: int | None = Field(default=None, sa_type=BigInteger, index=True)
    shopper_id: int | None = Field(default=None, sa_type=BigInteger, index=True)
    shard_count: int = Field(default=1)
    # Unbounded accounts (funding) may go negative; every other has a floor of
    # -credit_limit, i.e. 0 unless the municipality granted a merchant float a limit.
    unbounded: bool = Field(default=False)
    credit_limit: int = Field(default=0, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AccountBalance(SQLModel, table=True):
    """One shard of an account's cached balance; the floor is enforced per shard."""

    __tablename__ = "account_balance"
    __table_args__ = (
        CheckConstraint("pending >= 0", name="pending_not_negative"),
        CheckConstraint("floor IS NULL OR balance - pending >= floor", name="above_floor"),
        Index(None, "tenant_id"),
    )

    account_id: int = Field(foreign_key="account.id", primary_key=True, sa_type=BigInteger)
    slot: int = Field(primary_key=True)
    tenant_id: int = Field(sa_type=BigInteger)
    balance: int = Field(default=0, sa_type=BigInteger)
    pending: int = Field(default=0, sa_type=BigInteger)
    floor: int | None = Field(default=0, sa_type=BigInteger)


class Transfer(SQLModel, table=True):
    __tablename__ = "transfer"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="distinct_accounts"),
        Index(None, "tenant_id", "id"),
        Index(None, "tenant_id", "created_at"),
        # A till's "today" list and a shopper's daily cap look transfers up by account and time.
        Index(None, "debit_account_id", "created_at"),
        Index(None, "credit_account_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger)
    idempotency_key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    debit_account_id: int = Field(foreign_key="account.id", sa_type=BigInteger)
    credit_account_id: int = Field(foreign_key="account.id", sa_type=BigInteger)
    amount: int = Field(sa_type=BigInteger)
    reverses_transfer_id: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="transfer.id", unique=True
    )
    hold_id: int | None = Field(default=None, sa_type=BigInteger, foreign_key="hold.id", unique=True)
    description: str | None = Field(default=None, max_length=500)
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_by_user_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Entry(SQLModel, table=True):
    """One leg of a transfer: negative on the debited account, positive on the credited."""

    __tablename__ = "entry"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        Index(None, "account_id", "id"),
        Index(None, "tenant_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(sa_type=BigInteger)
    transfer_id: int = Field(foreign_key="transfer.id", sa_type=BigInteger, index=True)
    account_id: int = Field(foreign_key="account.id", sa_type=BigInteger)
    amount: int = Field(sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Hold(SQLModel, table=True):
    """A reservation of points on the debit account, later captured or voided once."""

    __tablename__ = "hold"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="distinct_accounts"),
        CheckConstraint(
            "captured_amount IS NULL OR (captured_amount > 0 AND captured_amount <= amount)",
            name="captured_within_amount",
        ),
        Index(None, "debit_account_id", "status"),
        Index(None, "status", "expires_at"),
        Index(None, "tenant_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger)
    idempotency_key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    debit_account_id: int = Field(foreign_key="account.id", sa_type=BigInteger)
    credit_account_id: int = Field(foreign_key="account.id", sa_type=BigInteger)
    slot: int = Field(default=0)
    amount: int = Field(sa_type=BigInteger)
    status: str = Field(default=HoldStatus.PENDING, max_length=16)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    captured_amount: int | None = Field(default=None, sa_type=BigInteger)
    description: str | None = Field(default=None, max_length=500)
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_by_user_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LedgerSeal(SQLModel, table=True):
    """A link of the per-tenant hash chain over committed transfers, in sealing order."""

    __tablename__ = "ledger_seal"
    __table_args__ = (UniqueConstraint("tenant_id", "seq"),)

    transfer_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("transfer.id"), primary_key=True, autoincrement=False)
    )
    tenant_id: int = Field(sa_type=BigInteger)
    seq: int = Field(sa_type=BigInteger)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    sealed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LedgerChainHead(SQLModel, table=True):
    """The newest link per tenant; locked by the sealer so two sealers never fork the chain."""

    __tablename__ = "ledger_chain_head"

    tenant_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("tenant.id"), primary_key=True, autoincrement=False)
    )
    last_seq: int = Field(default=0, sa_type=BigInteger)
    last_hash: str = Field(max_length=64)
    # Transfers created before this instant are all sealed (a safety margin behind the
    # newest sealed transfer covers transactions that committed late).
    sealed_through: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
