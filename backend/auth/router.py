"""Sign-in, sessions, users and POS keys over HTTP."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import service
from backend.auth.deps import CurrentPrincipal, Principal, require_roles
from backend.auth.errors import (
    ApiKeyInvalid,
    ApiKeyNotFound,
    EmailInvalid,
    EmailTaken,
    InvalidCredentials,
    MerchantNotAllowed,
    MerchantNotFound,
    MerchantRequired,
    MerchantSuspended,
    PasswordTooWeak,
    RefreshTokenExpired,
    RefreshTokenInvalid,
    RefreshTokenReused,
    RoleNotAllowed,
    TokenExpired,
    TokenInvalid,
    UserNotFound,
)
from backend.auth.models import Role
from backend.auth.schemas import (
    LoginRequest,
    MeResponse,
    PosKeyCreate,
    PosKeyCreated,
    PosKeyOut,
    RefreshRequest,
    TokenResponse,
    UserCreate,
    UserOut,
)
from backend.config import Settings
from backend.core.errors import Forbidden, RateLimited, Unauthorized, problem_responses
from backend.core.pagination import InvalidCursor, Page, PageParams, next_cursor, page_params
from backend.core.routing import TransactionalRoute, get_session

logger = logging.getLogger("kernpunt.auth")

router = APIRouter(route_class=TransactionalRoute, tags=["auth"])

Session = Annotated[AsyncSession, Depends(get_session)]
UserManager = Annotated[
    Principal, Depends(require_roles(Role.MUNICIPALITY_ADMIN, Role.AUDITOR, Role.MERCHANT_OWNER))
]
KeyManager = Annotated[
    Principal, Depends(require_roles(Role.MUNICIPALITY_ADMIN, Role.AUDITOR, Role.MERCHANT_OWNER))
]
MerchantId = Annotated[int, Path(gt=0)]

_AUTH_ERRORS = (Unauthorized, TokenExpired, TokenInvalid, ApiKeyInvalid, MerchantSuspended)


def _settings(request: Request) -> Settings:
    return request.app.state.settings


@router.post(
    "/auth/login",
    response_model=TokenResponse,
    summary="Sign in with e-mail address and password",
    responses=problem_responses(InvalidCredentials, RateLimited, MerchantSuspended),
)
async def login(body: LoginRequest, request: Request, session: Session) -> TokenResponse:
    settings = _settings(request)
    try:
        user = await service.authenticate(
            session,
            tenant_slug=body.tenant or settings.default_tenant,
            email=body.email,
            password=body.password,
        )
    except InvalidCredentials:
        raise  # the failure is counted by TransactionalRoute (a DurableFailure)
    issued = await service.issue_tokens(session, user=user, settings=settings)
    return TokenResponse.of(issued)


@router.post(
    "/auth/refresh",
    response_model=TokenResponse,
    summary="Exchange a refresh token for a new token pair",
    responses=problem_responses(
        RefreshTokenInvalid, RefreshTokenExpired, RefreshTokenReused, MerchantSuspended
    ),
)
async def refresh(body: RefreshRequest, request: Request, session: Session) -> TokenResponse:
    try:
        issued = await service.rotate_refresh_token(
            session, raw_token=body.refresh_token, settings=_settings(request)
        )
    except RefreshTokenReused:
        logger.warning("refresh token replayed; session ended")
        raise
    return TokenResponse.of(issued)


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End the session of a refresh token",
    response_class=Response,
)
async def logout(body: RefreshRequest, session: Session) -> Response:
    await service.revoke_refresh_token(session, raw_token=body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/auth/me",
    response_model=MeResponse,
    summary="Who am I",
    responses=problem_responses(*_AUTH_ERRORS, UserNotFound),
)
async def me(principal: CurrentPrincipal, session: Session) -> MeResponse:
    return MeResponse.of(await service.principal_profile(session, principal=principal))


@router.get(
    "/users",
    response_model=Page[UserOut],
    summary="Users of my municipality (a merchant owner: of my shop)",
    responses=problem_responses(*_AUTH_ERRORS, Forbidden, InvalidCursor),
)
async def list_users(
    principal: UserManager,
    session: Session,
    paging: Annotated[PageParams, Depends(page_params)],
    role: Annotated[Role | None, Query()] = None,
    merchant_id: Annotated[int | None, Query(gt=0)] = None,
) -> Page[UserOut]:
    users = await service.list_users(
        session,
        actor=principal,
        role=role,
        merchant_id=merchant_id,
        limit=paging.limit,
        before_id=paging.before_id,
    )
    ids = [user.id for user in users if user.id is not None]
    return Page(
        items=[UserOut.of(user) for user in users[: paging.limit]],
        next_cursor=next_cursor(ids, paging.limit),
    )


@router.post(
    "/users",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a staff user (administrator: any staff; merchant owner: cashiers)",
    responses=problem_responses(
        *_AUTH_ERRORS,
        Forbidden,
        RoleNotAllowed,
        MerchantNotFound,
        EmailTaken,
        EmailInvalid,
        PasswordTooWeak,
        MerchantRequired,
        MerchantNotAllowed,
    ),
)
async def create_user(body: UserCreate, principal: UserManager, session: Session) -> UserOut:
    user = await service.create_staff_user(
        session,
        actor=principal,
        email=body.email,
        password=body.password,
        role=body.role,
        merchant_id=body.merchant_id,
        display_name=body.display_name,
        language=body.language,
    )
    return UserOut.of(user)


@router.get(
    "/merchants/{merchant_id}/pos-keys",
    response_model=list[PosKeyOut],
    summary="POS API keys of a merchant, revoked ones included",
    responses=problem_responses(*_AUTH_ERRORS, Forbidden, MerchantNotFound),
)
async def list_pos_keys(
    merchant_id: MerchantId, principal: KeyManager, session: Session
) -> list[PosKeyOut]:
    await service.merchant_for_key_management(
        session, actor=principal, merchant_id=merchant_id, write=False
    )
    keys = await service.list_pos_api_keys(
        session, tenant_id=principal.tenant_id, merchant_id=merchant_id
    )
    return [PosKeyOut.of(key) for key in keys]


@router.post(
    "/merchants/{merchant_id}/pos-keys",
    response_model=PosKeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create a POS API key; the full key is in this response only",
    responses=problem_responses(*_AUTH_ERRORS, Forbidden, MerchantNotFound),
)
async def create_pos_key(
    merchant_id: MerchantId, body: PosKeyCreate, principal: KeyManager, session: Session
) -> PosKeyCreated:
    await service.merchant_for_key_management(
        session, actor=principal, merchant_id=merchant_id, write=True
    )
    key, raw_key = await service.create_pos_api_key(
        session,
        tenant_id=principal.tenant_id,
        merchant_id=merchant_id,
        name=body.name,
        created_by_user_id=principal.user_id,
    )
    return PosKeyCreated(**PosKeyOut.of(key).model_dump(), key=raw_key)


@router.delete(
    "/merchants/{merchant_id}/pos-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Revoke a POS API key at once",
    responses=problem_responses(*_AUTH_ERRORS, Forbidden, MerchantNotFound, ApiKeyNotFound),
)
async def revoke_pos_key(
    merchant_id: MerchantId,
    key_id: Annotated[int, Path(gt=0)],
    principal: KeyManager,
    session: Session,
) -> Response:
    await service.merchant_for_key_management(
        session, actor=principal, merchant_id=merchant_id, write=True
    )
    await service.revoke_pos_api_key(
        session, tenant_id=principal.tenant_id, merchant_id=merchant_id, key_id=key_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
