from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.types import BigIntId, UTCDateTime, utcnow


class ExpiryNotice(SQLModel, table=True):
    """The "your points lapse soon" e-mail: at most one per shopper and expiry day."""

    __tablename__ = "expiry_notice"
    __table_args__ = (UniqueConstraint("tenant_id", "shopper_id", "expires_on"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger)
    shopper_id: int = Field(sa_type=BigInteger)
    expires_on: date = Field(sa_type=Date)
    points: int = Field(sa_type=BigInteger)
    outbox_message_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
