"""Merchant float top-ups paid through Stripe, the Stripe events we processed, float debts.

A top-up row holds what Stripe told us (paid, refunded, disputed amounts in cents) next to
what the ledger did about it (the credit and the points taken back): processing an event
only raises those facts, and one routine then makes the ledger match them. So the order in
which Stripe delivers events does not matter, and a duplicate changes nothing.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Index, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from backend.core.types import BigIntId, UTCDateTime, utcnow


class TopUpStatus(enum.StrEnum):
    OPEN = "open"  # Checkout Session created, nothing paid yet
    PAID = "paid"  # float credited
    FAILED = "failed"  # Stripe reported the payment failed or the session expired
    REFUNDED = "refunded"  # paid, then fully refunded or lost in a dispute (a won dispute makes it paid again)


class TopUp(SQLModel, table=True):
    __tablename__ = "topup"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index(None, "tenant_id", "created_at"),
        Index(None, "tenant_id", "merchant_id", "created_at"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint("refunded_cents >= 0 AND disputed_cents >= 0", name="refunds_not_negative"),
        CheckConstraint("clawed_back_points >= 0 AND debt_points >= 0", name="taken_back_not_negative"),
        CheckConstraint(
            "reinstated_cents >= 0 AND reinstated_points >= 0 AND debt_cancelled_points >= 0"
            " AND reinstated_points + debt_cancelled_points <= clawed_back_points + debt_points",
            name="given_back_within_taken",
        ),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger)
    merchant_id: int = Field(foreign_key="merchant.id", sa_type=BigInteger)
    idempotency_key: str = Field(max_length=120)
    request_hash: str = Field(max_length=64)
    amount_cents: int = Field(sa_type=BigInteger)
    points: int = Field(sa_type=BigInteger)
    currency: str = Field(default="eur", max_length=3)
    status: str = Field(default=TopUpStatus.OPEN, max_length=16)
    checkout_session_id: str | None = Field(default=None, max_length=255, unique=True)
    checkout_url: str | None = Field(default=None, max_length=2000)
    payment_intent_id: str | None = Field(default=None, max_length=255, unique=True)
    # What Stripe reported, in cents; only ever raised (events may arrive out of order).
    paid_cents: int = Field(default=0, sa_type=BigInteger)
    refunded_cents: int = Field(default=0, sa_type=BigInteger)
    disputed_cents: int = Field(default=0, sa_type=BigInteger)
    # Disputed cents that came back because the municipality won (or the inquiry closed).
    reinstated_cents: int = Field(default=0, sa_type=BigInteger)
    # What the ledger did: the credit, points taken back from the float, and the part the
    # float could not give back (a float debt, collected from the next top-up).
    credit_transfer_id: int | None = Field(default=None, sa_type=BigInteger, foreign_key="transfer.id")
    clawed_back_points: int = Field(default=0, sa_type=BigInteger)
    debt_points: int = Field(default=0, sa_type=BigInteger)
    # Given back after a won dispute: clawbacks reversed into the float, and recorded debt
    # cancelled before it was collected. The four counters only grow, so the net taken back
    # is clawed_back + debt - reinstated - debt_cancelled and step keys never repeat.
    reinstated_points: int = Field(default=0, sa_type=BigInteger)
    debt_cancelled_points: int = Field(default=0, sa_type=BigInteger)
    failure_reason: str | None = Field(default=None, max_length=300)
    created_by_user_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StripeEventStatus(enum.StrEnum):
    PROCESSED = "processed"
    IGNORED = "ignored"  # a type we do not act on, or nothing left to do
    PARKED = "parked"  # about a payment we cannot place yet; replayed when it is linked


class StripeEvent(SQLModel, table=True):
    """Every Stripe event id we accepted, once: a redelivery finds its row and stops.

    ``tenant_id`` is empty for an event we could not place (yet): the webhook is one URL
    for the whole deployment and the event only names Stripe objects.
    """

    __tablename__ = "stripe_event"
    __table_args__ = (Index(None, "payment_intent_id", "status"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    event_id: str = Field(max_length=255, unique=True)
    type: str = Field(max_length=100)
    tenant_id: int | None = Field(default=None, sa_type=BigInteger, foreign_key="tenant.id", index=True)
    topup_id: int | None = Field(default=None, sa_type=BigInteger, foreign_key="topup.id", index=True)
    payment_intent_id: str | None = Field(default=None, max_length=255)
    status: str = Field(max_length=16)
    stripe_created: int = Field(default=0, sa_type=BigInteger)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class FloatDebt(SQLModel, table=True):
    """Points a refund or dispute should have taken from a float that no longer held them.

    The merchant owes them to the municipality; the next paid top-up pays them first (a
    ``float_clawback`` transfer), so the float never goes below zero for it. A debt whose
    dispute the municipality wins is cancelled as far as it was not collected yet.
    """

    __tablename__ = "float_debt"
    __table_args__ = (
        Index(None, "tenant_id", "merchant_id", "settled_at"),
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint("collected_points >= 0 AND collected_points <= points", name="collected_within"),
        CheckConstraint(
            "cancelled_points >= 0 AND collected_points + cancelled_points <= points", name="cancelled_within"
        ),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger)
    merchant_id: int = Field(foreign_key="merchant.id", sa_type=BigInteger)
    topup_id: int = Field(foreign_key="topup.id", sa_type=BigInteger, index=True)
    points: int = Field(sa_type=BigInteger)
    collected_points: int = Field(default=0, sa_type=BigInteger)
    # Forgiven because the dispute behind it was won; never collected afterwards.
    cancelled_points: int = Field(default=0, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    settled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
