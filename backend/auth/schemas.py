"""Request and response bodies of the auth API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.auth.models import PosApiKey, Role, User
from backend.auth.passwords import MAX_PASSWORD_LENGTH
from backend.auth.service import IssuedTokens, PrincipalProfile

LANGUAGE_PATTERN = r"^[a-z]{2}(-[A-Z]{2})?$"


class _Request(BaseModel):
    # A misspelt field is an error, not silently ignored.
    model_config = ConfigDict(extra="forbid")


class LoginRequest(_Request):
    tenant: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Municipality slug; the default one if left out",
    )
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class RefreshRequest(_Request):
    refresh_token: str = Field(min_length=1, max_length=200)


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")
    refresh_token: str = Field(
        description="Single use: exchange it at /auth/refresh for a new pair"
    )
    role: Role
    tenant: str
    user_id: int

    @classmethod
    def of(cls, issued: IssuedTokens) -> TokenResponse:
        assert issued.user.id is not None
        return cls(
            access_token=issued.access_token,
            expires_in=issued.expires_in,
            refresh_token=issued.refresh_token,
            role=issued.principal.role,
            tenant=issued.tenant_slug,
            user_id=issued.user.id,
        )


class MeResponse(BaseModel):
    user_id: int | None
    role: Role
    tenant: str
    tenant_id: int
    merchant_id: int | None
    shopper_id: int | None
    api_key_id: int | None
    email: str | None
    display_name: str
    language: str | None

    @classmethod
    def of(cls, profile: PrincipalProfile) -> MeResponse:
        principal = profile.principal
        return cls(
            user_id=principal.user_id,
            role=principal.role,
            tenant=profile.tenant_slug,
            tenant_id=principal.tenant_id,
            merchant_id=principal.merchant_id,
            shopper_id=principal.shopper_id,
            api_key_id=principal.api_key_id,
            email=profile.email,
            display_name=profile.display_name,
            language=profile.language,
        )


class UserCreate(_Request):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    role: Role
    merchant_id: int | None = Field(default=None, gt=0)
    display_name: str = Field(default="", max_length=200)
    language: str = Field(default="nl", pattern=LANGUAGE_PATTERN, max_length=5)


class UserOut(BaseModel):
    id: int
    email: str
    role: Role
    merchant_id: int | None
    display_name: str
    language: str
    is_active: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        assert user.id is not None
        return cls(
            id=user.id,
            email=user.email,
            role=Role(user.role),
            merchant_id=user.merchant_id,
            display_name=user.display_name,
            language=user.language,
            is_active=user.is_active,
            created_at=user.created_at,
        )


class PosKeyCreate(_Request):
    name: str = Field(min_length=1, max_length=100, description="Which till this key is for")


class PosKeyOut(BaseModel):
    id: int
    merchant_id: int
    name: str
    prefix: str = Field(description="Public part of the key, to tell keys apart")
    created_by_user_id: int | None
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: PosApiKey) -> PosKeyOut:
        assert key.id is not None
        return cls(
            id=key.id,
            merchant_id=key.merchant_id,
            name=key.name,
            prefix=key.prefix,
            created_by_user_id=key.created_by_user_id,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
        )


class PosKeyCreated(PosKeyOut):
    key: str = Field(description="The full key; shown only now, store it in the till")
