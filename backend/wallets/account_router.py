"""Sign-up, e-mail links, passwords and the shopper's profile over HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import CurrentPrincipal, Principal, require_roles
from backend.auth.errors import (
    EmailInvalid,
    EmailTaken,
    MerchantSuspended,
    PasswordTooWeak,
    TokenExpired,
    TokenInvalid,
)
from backend.auth.models import Role
from backend.auth.schemas import TokenResponse
from backend.config import Settings
from backend.core.errors import Forbidden, RateLimited, Unauthorized, problem_responses
from backend.core.routing import TransactionalRoute, get_session
from backend.tenants.errors import TenantNotFound
from backend.wallets import accounts
from backend.wallets.errors import (
    AccountClosed,
    ConsentRequired,
    EmailTokenExpired,
    EmailTokenInvalid,
    EmailTokenUsed,
    PasswordIncorrect,
    PostcodeInvalid,
)
from backend.wallets.schemas import (
    ChangePasswordRequest,
    PasswordChanged,
    PasswordResetConfirm,
    PasswordResetRequest,
    ProfileOut,
    ProfileUpdate,
    SignupRequest,
    TokenRequest,
    VerifiedOut,
)

router = APIRouter(route_class=TransactionalRoute, tags=["shopper account"])

Session = Annotated[AsyncSession, Depends(get_session)]
ShopperPrincipal = Annotated[Principal, Depends(require_roles(Role.SHOPPER))]

_AUTH_ERRORS = (Unauthorized, TokenExpired, TokenInvalid, AccountClosed)


def _settings(request: Request) -> Settings:
    return request.app.state.settings


@router.post(
    "/signup",
    response_model=TokenResponse,
    status_code=status.HTTP_201_CREATED,
    summary="Create a shopper account (and wallet); signed in at once, verification mailed",
    responses=problem_responses(
        ConsentRequired, PostcodeInvalid, EmailInvalid, EmailTaken, PasswordTooWeak, TenantNotFound
    ),
)
async def signup(body: SignupRequest, request: Request, session: Session) -> TokenResponse:
    settings = _settings(request)
    issued = await accounts.sign_up(
        session,
        settings=settings,
        tenant_slug=body.tenant or settings.default_tenant,
        email=body.email,
        password=body.password,
        first_name=body.first_name,
        language=body.language,
        postcode=body.postcode,
        consent=body.consent,
    )
    return TokenResponse.of(issued)


@router.post(
    "/auth/verify-email",
    response_model=VerifiedOut,
    summary="Confirm an e-mail address with the token from the mailed link",
    responses=problem_responses(EmailTokenInvalid, EmailTokenExpired),
)
async def verify_email(body: TokenRequest, session: Session) -> VerifiedOut:
    user = await accounts.verify_email(session, raw_token=body.token)
    assert user.email_verified_at is not None
    return VerifiedOut(email=user.email, email_verified_at=user.email_verified_at)


@router.post(
    "/auth/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,
    summary="Mail a password-reset link if the address has an account (always 202)",
)
async def request_password_reset(
    body: PasswordResetRequest, request: Request, session: Session
) -> Response:
    settings = _settings(request)
    await accounts.request_password_reset(
        session,
        settings=settings,
        tenant_slug=body.tenant or settings.default_tenant,
        email=body.email,
    )
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/auth/password-reset/confirm",
    response_model=PasswordChanged,
    summary="Set a new password with a reset token; every session is ended",
    responses=problem_responses(
        EmailTokenInvalid, EmailTokenExpired, EmailTokenUsed, PasswordTooWeak
    ),
)
async def confirm_password_reset(body: PasswordResetConfirm, session: Session) -> PasswordChanged:
    await accounts.confirm_password_reset(
        session, raw_token=body.token, new_password=body.new_password
    )
    return PasswordChanged()


@router.post(
    "/auth/change-password",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Change my password; my other sessions are ended",
    responses=problem_responses(
        *_AUTH_ERRORS, Forbidden, MerchantSuspended, PasswordIncorrect, PasswordTooWeak, RateLimited
    ),
)
async def change_password(
    body: ChangePasswordRequest, principal: CurrentPrincipal, session: Session
) -> Response:
    await accounts.change_password(
        session,
        principal=principal,
        current_password=body.current_password,
        new_password=body.new_password,
        keep_refresh_token=body.refresh_token,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/me/profile",
    response_model=ProfileOut,
    summary="My profile",
    responses=problem_responses(*_AUTH_ERRORS, Forbidden),
)
async def get_profile(principal: ShopperPrincipal, session: Session) -> ProfileOut:
    return ProfileOut.of(await accounts.get_profile(session, principal=principal))


@router.patch(
    "/me/profile",
    response_model=ProfileOut,
    summary="Change my first name, language or postcode",
    responses=problem_responses(*_AUTH_ERRORS, Forbidden, PostcodeInvalid),
)
async def update_profile(
    body: ProfileUpdate, principal: ShopperPrincipal, session: Session
) -> ProfileOut:
    profile = await accounts.update_profile(
        session, principal=principal, changes=body.model_dump(exclude_unset=True)
    )
    return ProfileOut.of(profile)
