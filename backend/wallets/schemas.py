"""Request and response bodies of sign-up, the shopper's account, wallet and shops."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.auth.passwords import MAX_PASSWORD_LENGTH
from backend.merchants.models import Merchant, shopping_kind
from backend.wallets.accounts import Profile
from backend.wallets.service import HistoryItem, HoldView, WalletView

Language = Literal["nl", "fr", "en"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignupRequest(_Request):
    tenant: str | None = Field(default=None, min_length=1, max_length=64)
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    first_name: str = Field(default="", max_length=100)
    language: Language = "nl"
    postcode: str | None = Field(default=None, max_length=10)
    # Not defaulted to True anywhere: leaving it out is refusing (422 consent_required).
    consent: bool = False


class TokenRequest(_Request):
    token: str = Field(min_length=1, max_length=200)


class VerifiedOut(BaseModel):
    email: str
    email_verified_at: datetime


class PasswordResetRequest(_Request):
    tenant: str | None = Field(default=None, min_length=1, max_length=64)
    email: str = Field(min_length=1, max_length=254)


class PasswordResetConfirm(_Request):
    token: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class PasswordChanged(BaseModel):
    status: Literal["password_changed"] = "password_changed"


class ChangePasswordRequest(_Request):
    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    new_password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    refresh_token: str | None = Field(
        default=None,
        max_length=200,
        description="The caller's own refresh token: its session stays, every other ends",
    )


class ProfileOut(BaseModel):
    email: str
    email_verified: bool
    first_name: str
    language: str
    postcode: str | None
    village: str | None
    consent_version: str | None
    consent_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, profile: Profile) -> ProfileOut:
        user, shopper = profile.user, profile.shopper
        return cls(
            email=user.email,
            email_verified=user.email_verified_at is not None,
            first_name=shopper.first_name,
            language=shopper.language,
            postcode=shopper.postcode,
            village=shopper.village,
            consent_version=shopper.consent_version,
            consent_at=shopper.consent_at,
            created_at=shopper.created_at,
        )


class ProfileUpdate(_Request):
    first_name: str | None = Field(default=None, max_length=100)
    language: Language | None = None
    postcode: str | None = Field(default=None, max_length=10, description="null removes it")


class HoldOut(BaseModel):
    hold_id: int
    points: int
    merchant_name: str | None
    expires_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, hold: HoldView) -> HoldOut:
        return cls(
            hold_id=hold.hold_id,
            points=hold.points,
            merchant_name=hold.merchant_name,
            expires_at=hold.expires_at,
            created_at=hold.created_at,
        )


class ExpiringOut(BaseModel):
    points: int
    expires_on: date = Field(description="Europe/Brussels calendar day")


class WalletOut(BaseModel):
    balance: int
    pending: int
    available: int
    value_cents: int
    point_value_cents: int
    holds: list[HoldOut]
    expiring: list[ExpiringOut] = Field(
        description="Points that lapse within 60 days, soonest first"
    )

    @classmethod
    def of(cls, view: WalletView) -> WalletOut:
        return cls(
            balance=view.balance,
            pending=view.pending,
            available=view.available,
            value_cents=view.value_cents,
            point_value_cents=view.point_value_cents,
            holds=[HoldOut.of(h) for h in view.holds],
            expiring=[ExpiringOut(points=p, expires_on=d) for d, p in view.expiring],
        )


class HistoryItemOut(BaseModel):
    id: int = Field(description="The ledger transfer")
    kind: str
    points: int = Field(description="Positive: into the wallet; negative: out of it")
    merchant_name: str | None
    merchant_category: str | None
    reversal_of: int | None = None
    reversed_kind: str | None = None
    created_at: datetime
    campaign_name: str | None = Field(default=None, description="For a bonus: the campaign that paid it")

    @classmethod
    def of(cls, item: HistoryItem) -> HistoryItemOut:
        return cls(
            id=item.transfer_id,
            kind=item.kind,
            points=item.points,
            merchant_name=item.merchant_name,
            merchant_category=item.merchant_category,
            reversal_of=item.reversal_of,
            reversed_kind=item.reversed_kind,
            created_at=item.created_at,
            campaign_name=item.campaign_name,
        )


class DeleteAccountRequest(_Request):
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    confirm: bool = False


class ShopOut(BaseModel):
    id: int
    name: str
    category: str
    shopping: str = Field(description="run, fun, or the category itself (horeca, services)")
    village: str
    address: str
    postcode: str

    @classmethod
    def of(cls, merchant: Merchant) -> ShopOut:
        assert merchant.id is not None
        return cls(
            id=merchant.id,
            name=merchant.name,
            category=merchant.category,
            shopping=shopping_kind(merchant.category),
            village=merchant.village,
            address=merchant.address,
            postcode=merchant.postcode,
        )
