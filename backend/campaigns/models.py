"""Campaigns: extra points paid from a municipality-funded budget, and what they paid."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Index, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from backend.core.types import BigIntId, UTCDateTime, utcnow


class CampaignTrigger(enum.StrEnum):
    EARN = "earn"  # a bonus on top of an earn at a shop
    SIGNUP = "signup"  # a welcome bonus when a shopper signs up


class Campaign(SQLModel, table=True):
    """Rules of one campaign. Empty lists mean "no restriction"."""

    __tablename__ = "campaign"
    __table_args__ = (
        Index(None, "tenant_id", "trigger", "active"),
        CheckConstraint(
            "(multiplier_percent IS NULL) <> (fixed_points IS NULL)", name="one_bonus_kind"
        ),
        CheckConstraint("multiplier_percent IS NULL OR multiplier_percent > 100", name="multiplier_above_100"),
        CheckConstraint("fixed_points IS NULL OR fixed_points > 0", name="fixed_points_positive"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger)
    name: str = Field(max_length=120)
    description: str = Field(default="", max_length=1000)
    trigger: str = Field(default=CampaignTrigger.EARN, max_length=16)
    # 200 = double points: bonus = floor(earned x (multiplier - 100) / 100).
    multiplier_percent: int | None = Field(default=None)
    fixed_points: int | None = Field(default=None, sa_type=BigInteger)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # ISO weekdays (1 = Monday) of the Europe/Brussels calendar.
    weekdays: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    villages: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    merchant_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    first_purchase_only: bool = Field(default=False)
    active: bool = Field(default=True)
    # Set by the earn that found the budget empty; cleared when it is funded again.
    exhausted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    budget_account_id: int | None = Field(default=None, sa_type=BigInteger)
    created_by_user_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def rules(self) -> dict[str, Any]:
        """The fields an admin sets, as the audit trail records them."""
        return {
            "name": self.name,
            "description": self.description,
            "trigger": self.trigger,
            "multiplier_percent": self.multiplier_percent,
            "fixed_points": self.fixed_points,
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "weekdays": list(self.weekdays),
            "categories": list(self.categories),
            "villages": list(self.villages),
            "merchant_ids": list(self.merchant_ids),
            "first_purchase_only": self.first_purchase_only,
            "active": self.active,
        }


class CampaignAward(SQLModel, table=True):
    """One bonus transfer and the earn (or sign-up) it rewarded; insert-only."""

    __tablename__ = "campaign_award"
    __table_args__ = (
        UniqueConstraint("bonus_transfer_id"),
        Index(None, "tenant_id", "earn_transfer_id"),
        Index(None, "campaign_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger)
    campaign_id: int = Field(foreign_key="campaign.id", sa_type=BigInteger)
    shopper_id: int = Field(sa_type=BigInteger)
    merchant_id: int | None = Field(default=None, sa_type=BigInteger)
    earn_transfer_id: int | None = Field(default=None, sa_type=BigInteger)
    bonus_transfer_id: int = Field(sa_type=BigInteger)
    points: int = Field(sa_type=BigInteger)
    # What the rules gave before the budget cut it short.
    requested_points: int = Field(sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
