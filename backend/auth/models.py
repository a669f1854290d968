from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.types import BigIntId, UTCDateTime, utcnow


class Role(enum.StrEnum):
    MUNICIPALITY_ADMIN = "municipality_admin"
    AUDITOR = "auditor"
    MERCHANT_OWNER = "merchant_owner"
    CASHIER = "cashier"
    SHOPPER = "shopper"


class User(SQLModel, table=True):
    __tablename__ = "user_account"
    __table_args__ = (UniqueConstraint("tenant_id", "email"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger)
    email: str = Field(max_length=254)
    password_hash: str = Field(max_length=200)
    role: str = Field(max_length=32)
    merchant_id: int | None = Field(default=None, foreign_key="merchant.id", sa_type=BigInteger)
    display_name: str = Field(default="", max_length=200)
    language: str = Field(default="nl", max_length=5)
    is_active: bool = Field(default=True)
    email_verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class EmailToken(SQLModel, table=True):
    """A single-use link token sent by e-mail (verify address, reset password)."""

    __tablename__ = "email_token"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger)
    user_id: int = Field(foreign_key="user_account.id", sa_type=BigInteger, index=True)
    purpose: str = Field(max_length=20)
    token_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RefreshToken(SQLModel, table=True):
    """A single-use refresh token; using one issues its successor in the same family.

    Presenting a token that was already used revokes the whole family: somebody copied it.
    """

    __tablename__ = "refresh_token"
    # expires_at and revoked_at: the clean-up job finds stale rows by them
    # (backend/auth/housekeeping.py) without scanning the table.
    __table_args__ = (Index(None, "family_id"), Index(None, "expires_at"), Index(None, "revoked_at"))

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger)
    user_id: int = Field(foreign_key="user_account.id", sa_type=BigInteger, index=True)
    family_id: str = Field(max_length=36)
    token_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PosApiKey(SQLModel, table=True):
    """A till integration's key: shown once, stored as a SHA-256 digest (it is random, 256 bits)."""

    __tablename__ = "pos_api_key"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger)
    merchant_id: int = Field(foreign_key="merchant.id", sa_type=BigInteger, index=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16, unique=True)
    key_hash: str = Field(max_length=64)
    created_by_user_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginThrottle(SQLModel, table=True):
    """Failed attempts per (tenant, subject) to slow down guessing: sign-in passwords
    and short codes typed at a till (backend/auth/throttle.py)."""

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("tenant_id", "subject"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger)
    subject: str = Field(max_length=300)
    failures: int = Field(default=0)
    window_started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
