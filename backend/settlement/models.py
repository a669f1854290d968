"""Closed settlement periods, their frozen lines and statements, payouts and SEPA batches.

Closing a period assigns every ledger transfer created before the period's end that no
earlier period took to that period (one ``settlement_line`` per transfer, unique), and
freezes per merchant what the lines add up to. A transfer that commits after the close
(a late correction, a back-dated reversal) is not in any closed period, so the next close
takes it: a closed period's figures never change and nothing is counted twice or lost.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from backend.core.types import BigIntId, UTCDateTime, utcnow


class SettlementPeriod(SQLModel, table=True):
    __tablename__ = "settlement_period"
    __table_args__ = (
        UniqueConstraint("tenant_id", "year", "month"),
        CheckConstraint("month BETWEEN 1 AND 12", name="month_range"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger)
    year: int
    month: int
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    point_value_cents: int
    line_count: int = Field(default=0, sa_type=BigInteger)
    # Movements of the period and the scheme's positions at its close, by figure (points).
    totals: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    closed_by_user_id: int | None = Field(default=None, sa_type=BigInteger)
    closed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SettlementLine(SQLModel, table=True):
    """One ledger transfer as a period counts it; ``points`` are signed in the figure's
    direction (a reversal of an earn is a negative ``issued`` line)."""

    __tablename__ = "settlement_line"
    __table_args__ = (
        UniqueConstraint("tenant_id", "transfer_id"),
        Index(None, "period_id", "merchant_id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger)
    period_id: int = Field(foreign_key="settlement_period.id", sa_type=BigInteger)
    transfer_id: int = Field(foreign_key="transfer.id", sa_type=BigInteger)
    merchant_id: int | None = Field(default=None, sa_type=BigInteger)
    kind: str = Field(max_length=32)
    figure: str = Field(max_length=32)
    reversal: bool = Field(default=False)
    points: int = Field(sa_type=BigInteger)
    purchase_cents: int | None = Field(default=None, sa_type=BigInteger)
    occurred_at: datetime = Field(sa_type=UTCDateTime)


class SettlementStatement(SQLModel, table=True):
    """A merchant's frozen figures for one period, with the CSV and PDF as first rendered."""

    __tablename__ = "settlement_statement"
    __table_args__ = (UniqueConstraint("period_id", "merchant_id"), Index(None, "tenant_id", "merchant_id"))

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger)
    period_id: int = Field(foreign_key="settlement_period.id", sa_type=BigInteger)
    merchant_id: int = Field(foreign_key="merchant.id", sa_type=BigInteger)
    merchant_name: str = Field(max_length=200)
    language: str = Field(max_length=5)
    point_value_cents: int
    points_issued: int = Field(sa_type=BigInteger)
    issued_reversed: int = Field(sa_type=BigInteger)
    bonus_points: int = Field(sa_type=BigInteger)
    bonus_reversed: int = Field(sa_type=BigInteger)
    points_redeemed: int = Field(sa_type=BigInteger)
    redeemed_reversed: int = Field(sa_type=BigInteger)
    points_paid_out: int = Field(sa_type=BigInteger)
    float_topups: int = Field(sa_type=BigInteger)
    float_clawbacks: int = Field(sa_type=BigInteger)
    float_opening: int = Field(sa_type=BigInteger)
    float_closing: int = Field(sa_type=BigInteger)
    owed_opening: int = Field(sa_type=BigInteger)
    owed_closing: int = Field(sa_type=BigInteger)
    # The period's net redemptions in euro cents (what this month earned the shop), and
    # everything still owed at the close (earlier unpaid months included).
    net_amount_cents: int = Field(sa_type=BigInteger)
    owed_closing_cents: int = Field(sa_type=BigInteger)
    line_count: int = Field(sa_type=BigInteger)
    csv: str = Field(sa_column=Column(Text, nullable=False))
    pdf: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PayoutStatus(enum.StrEnum):
    EXPORTED = "exported"  # in a SEPA file handed to the bank
    PAID = "paid"  # the admin confirmed the bank paid; the ledger payout transfer is posted


class PayoutBatch(SQLModel, table=True):
    """One payout run per period: the SEPA credit transfer file sent to the bank."""

    __tablename__ = "payout_batch"
    __table_args__ = (UniqueConstraint("period_id"), Index(None, "tenant_id", "id"))

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger)
    period_id: int = Field(foreign_key="settlement_period.id", sa_type=BigInteger)
    message_id: str = Field(max_length=35)
    status: str = Field(default=PayoutStatus.EXPORTED, max_length=16)
    payout_count: int
    total_cents: int = Field(sa_type=BigInteger)
    debtor_name: str = Field(max_length=140)
    debtor_iban: str = Field(max_length=34)
    debtor_bic: str | None = Field(default=None, max_length=11)
    xml: str = Field(sa_column=Column(Text, nullable=False))
    created_by_user_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    confirmed_by_user_id: int | None = Field(default=None, sa_type=BigInteger)
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Payout(SQLModel, table=True):
    __tablename__ = "payout"
    __table_args__ = (
        UniqueConstraint("batch_id", "merchant_id"),
        Index(None, "tenant_id", "merchant_id", "status"),
        CheckConstraint("points > 0 AND amount_cents > 0", name="amount_positive"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger)
    batch_id: int = Field(foreign_key="payout_batch.id", sa_type=BigInteger)
    period_id: int = Field(foreign_key="settlement_period.id", sa_type=BigInteger)
    merchant_id: int = Field(foreign_key="merchant.id", sa_type=BigInteger)
    statement_id: int = Field(foreign_key="settlement_statement.id", sa_type=BigInteger)
    points: int = Field(sa_type=BigInteger)
    amount_cents: int = Field(sa_type=BigInteger)
    creditor_name: str = Field(max_length=140)
    creditor_iban: str = Field(max_length=34)
    end_to_end_id: str = Field(max_length=35)
    status: str = Field(default=PayoutStatus.EXPORTED, max_length=16)
    transfer_id: int | None = Field(default=None, sa_type=BigInteger, foreign_key="transfer.id")
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
