from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Index
from sqlmodel import Field, SQLModel

from backend.core.types import BigIntId, UTCDateTime, utcnow


class MerchantCategory(enum.StrEnum):
    """Shop categories; the first group is "run shopping", the second "fun shopping"."""

    BAKERY = "bakery"
    BUTCHER = "butcher"
    GROCERY = "grocery"
    PHARMACY = "pharmacy"
    FASHION = "fashion"
    SHOES = "shoes"
    BOOKS = "books"
    GIFTS = "gifts"
    SPORTS = "sports"
    HORECA = "horeca"
    SERVICES = "services"


RUN_SHOPPING = frozenset(
    {MerchantCategory.BAKERY, MerchantCategory.BUTCHER, MerchantCategory.GROCERY, MerchantCategory.PHARMACY}
)
FUN_SHOPPING = frozenset(
    {
        MerchantCategory.FASHION,
        MerchantCategory.SHOES,
        MerchantCategory.BOOKS,
        MerchantCategory.GIFTS,
        MerchantCategory.SPORTS,
    }
)


def shopping_kind(category: str) -> str:
    if category in RUN_SHOPPING:
        return "run"
    if category in FUN_SHOPPING:
        return "fun"
    return category


class MerchantStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REJECTED = "rejected"


class Merchant(SQLModel, table=True):
    __tablename__ = "merchant"
    __table_args__ = (Index(None, "tenant_id", "status"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    tenant_id: int = Field(foreign_key="tenant.id", sa_type=BigInteger)
    name: str = Field(max_length=200)
    category: str = Field(max_length=32)
    village: str = Field(max_length=100)
    address: str = Field(default="", max_length=300)
    postcode: str = Field(default="", max_length=10)
    vat_number: str | None = Field(default=None, max_length=20)
    iban: str | None = Field(default=None, max_length=34)
    language: str = Field(default="nl", max_length=5)
    status: str = Field(default=MerchantStatus.ACTIVE, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Filled in by the shop on the public application form (backend/merchants/service.py).
    contact_name: str = Field(default="", max_length=200)
    contact_email: str = Field(default="", max_length=254)
    contact_phone: str = Field(default="", max_length=40)
    # Why the municipality rejected or suspended the shop, shown to its admins.
    status_reason: str = Field(default="", max_length=500)
    status_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
