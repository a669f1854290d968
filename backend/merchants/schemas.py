"""Request and response bodies of merchant onboarding."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from backend.auth.passwords import MAX_PASSWORD_LENGTH
from backend.merchants.models import Merchant, MerchantCategory, MerchantStatus, shopping_kind

LANGUAGE_PATTERN = r"^(nl|fr|en)$"


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ApplicationForm(BaseModel):
    """What the public form needs to know about the municipality."""

    tenant: str
    tenant_name: str
    villages: list[str] = Field(description="Empty: the municipality accepts any village name")
    categories: list[MerchantCategory]


class ApplicationIn(_Request):
    tenant: str | None = Field(default=None, min_length=1, max_length=64, description="Municipality slug; the default one if left out")
    name: str = Field(min_length=2, max_length=200, description="The shop's name as shoppers know it")
    category: MerchantCategory
    village: str = Field(min_length=1, max_length=100)
    address: str = Field(min_length=3, max_length=300, description="Street and number")
    postcode: str = Field(default="", pattern=r"^([1-9][0-9]{3})?$", max_length=4)
    vat_number: str = Field(min_length=1, max_length=20, description="Belgian VAT/enterprise number, BE0123456749")
    iban: str = Field(min_length=1, max_length=42, description="Account for payouts (mod-97 checked)")
    contact_name: str = Field(min_length=2, max_length=200)
    contact_email: str = Field(min_length=3, max_length=254, description="Receives the invitation once approved")
    contact_phone: str = Field(min_length=6, max_length=40)
    language: str = Field(default="nl", pattern=LANGUAGE_PATTERN)


class ApplicationReceived(BaseModel):
    id: int
    name: str
    status: MerchantStatus
    created_at: datetime


class MerchantAdminOut(BaseModel):
    """A shop as the municipality sees it, contact and bank details included."""

    id: int
    name: str
    category: str
    shopping: str = Field(description="run, fun, or the category for the others")
    village: str
    address: str
    postcode: str
    vat_number: str | None
    iban: str | None
    language: str
    status: MerchantStatus
    status_reason: str
    status_changed_at: datetime | None
    contact_name: str
    contact_email: str
    contact_phone: str
    created_at: datetime

    @classmethod
    def of(cls, merchant: Merchant) -> MerchantAdminOut:
        assert merchant.id is not None
        return cls(
            id=merchant.id,
            name=merchant.name,
            category=merchant.category,
            shopping=shopping_kind(merchant.category),
            village=merchant.village,
            address=merchant.address,
            postcode=merchant.postcode,
            vat_number=merchant.vat_number,
            iban=merchant.iban,
            language=merchant.language,
            status=MerchantStatus(merchant.status),
            status_reason=merchant.status_reason,
            status_changed_at=merchant.status_changed_at,
            contact_name=merchant.contact_name,
            contact_email=merchant.contact_email,
            contact_phone=merchant.contact_phone,
            created_at=merchant.created_at,
        )


class ApprovedOut(MerchantAdminOut):
    owner_user_id: int


class ReasonIn(_Request):
    reason: str = Field(min_length=3, max_length=500, description="Shown to the municipality's staff and in the audit log")


class ReactivateIn(_Request):
    reason: str = Field(default="", max_length=500)


class InvitationAccept(BaseModel):
    # Not stripped: spaces are part of a password.
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=10, max_length=200)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
