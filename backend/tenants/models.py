from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint
from sqlmodel import Column, Field, SQLModel

from backend.core.types import BigIntId, UTCDateTime, utcnow


class Tenant(SQLModel, table=True):
    """A municipality running the scheme. Every other row carries its id."""

    __tablename__ = "tenant"
    __table_args__ = (
        CheckConstraint("point_value_cents > 0", name="point_value_positive"),
        CheckConstraint("points_per_euro >= 0", name="points_per_euro_not_negative"),
        CheckConstraint("hold_timeout_seconds > 0", name="hold_timeout_positive"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    slug: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    locale: str = Field(default="nl-BE", max_length=10)
    timezone: str = Field(default="Europe/Brussels", max_length=64)
    point_value_cents: int = Field(default=1)
    points_per_euro: int = Field(default=1)
    hold_timeout_seconds: int = Field(default=300)
    points_expiry_days: int = Field(default=730)
    default_float_credit_limit: int = Field(default=0, sa_type=BigInteger)
    # Earn rule: points = floor(purchase in cents x rate / 100), the rate being the
    # category's override or points_per_euro. Rounded down, always, everywhere.
    category_points_per_euro: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    min_purchase_cents: int = Field(default=0, sa_type=BigInteger)
    daily_cap_points: int | None = Field(default=None, sa_type=BigInteger)
    qr_token_ttl_seconds: int = Field(default=60)
    claim_code_ttl_seconds: int = Field(default=600)
    undo_window_seconds: int = Field(default=900)
    # The municipality's bank account, debtor of the SEPA payout files (settlement).
    iban: str | None = Field(default=None, max_length=34)
    bic: str | None = Field(default=None, max_length=11)
    # The villages (deelgemeenten) a shop can name on the application form; empty: any.
    villages: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
