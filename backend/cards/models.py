"""Physical savings cards for people without a smartphone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.types import BigIntId, UTCDateTime, utcnow


class CardBatch(SQLModel, table=True):
    __tablename__ = "card_batch"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger, index=True)
    size: int
    created_by_user_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Card(SQLModel, table=True):
    """A card number (with a check digit) bound to a wallet; spending needs its PIN."""

    __tablename__ = "card"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger)
    batch_id: int = Field(foreign_key="card_batch.id", sa_type=BigInteger, index=True)
    number: str = Field(max_length=20)
    # The wallet the card earns into: the card's own anonymous shopper until somebody
    # registers it, then the registered shopper (points move along).
    shopper_id: int = Field(foreign_key="shopper.id", sa_type=BigInteger, index=True)
    pin_hash: str = Field(max_length=200)
    failed_pin_attempts: int = Field(default=0)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    blocked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    registered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
