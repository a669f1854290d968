from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index
from sqlmodel import Field, SQLModel

from backend.core.types import BigIntId, UTCDateTime, utcnow


class Shopper(SQLModel, table=True):
    """A person saving points; their wallet is a ``shopper_wallet`` ledger account."""

    __tablename__ = "shopper"
    __table_args__ = (Index(None, "tenant_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger)
    user_id: int | None = Field(default=None, sa_type=BigInteger, unique=True)
    first_name: str = Field(default="", max_length=100)
    postcode: str | None = Field(default=None, max_length=10)
    village: str | None = Field(default=None, max_length=100)
    language: str = Field(default="nl", max_length=5)
    # The consent text version the shopper accepted at sign-up (None for card holders
    # who never signed up).
    consent_version: str | None = Field(default=None, max_length=20)
    consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
