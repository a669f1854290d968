"""What the till needs beyond the ledger: rotating wallet QR tokens and claim codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.types import BigIntId, UTCDateTime, utcnow


class WalletToken(SQLModel, table=True):
    """A short-lived token a shopper's phone shows as a QR code (and as a short code).

    The QR holds a signed token naming this row; the short code is what a cashier types
    when the camera fails. Earning may use it until it expires; spending uses it once.
    """

    __tablename__ = "wallet_token"
    __table_args__ = (
        UniqueConstraint("tenant_id", "short_code"),
        Index(None, "expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger)
    shopper_id: int = Field(foreign_key="shopper.id", sa_type=BigInteger, index=True)
    jti: str = Field(max_length=32, unique=True)
    short_code: str = Field(max_length=12)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    spent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ClaimCode(SQLModel, table=True):
    """A single-use code a shop without a scanner shows for one purchase."""

    __tablename__ = "claim_code"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index(None, "merchant_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger)
    merchant_id: int = Field(foreign_key="merchant.id", sa_type=BigInteger)
    jti: str = Field(max_length=32, unique=True)
    idempotency_key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    purchase_cents: int = Field(sa_type=BigInteger)
    points: int = Field(sa_type=BigInteger)
    created_by_user_id: int | None = Field(default=None, sa_type=BigInteger)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by_shopper_id: int | None = Field(default=None, sa_type=BigInteger)
    transfer_id: int | None = Field(default=None, foreign_key="transfer.id", sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
