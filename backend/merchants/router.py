"""Merchant onboarding over HTTP: the public application form and the municipality's decisions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import service as auth_service
from backend.auth.deps import AdminReader, AdminWriter
from backend.auth.errors import (
    EmailInvalid,
    EmailTaken,
    PasswordTooWeak,
    TokenExpired,
    TokenInvalid,
)
from backend.auth.schemas import TokenResponse
from backend.config import Settings
from backend.core.errors import Forbidden, RateLimited, Unauthorized, problem_responses
from backend.core.ids import IdPath
from backend.core.pagination import InvalidCursor, Page, PageParams, next_cursor, page_params
from backend.core.routing import TransactionalRoute, get_session
from backend.merchants import service
from backend.merchants.errors import (
    IbanInvalid,
    MerchantNotFound,
    PhoneInvalid,
    VatNumberInvalid,
    VatNumberTaken,
    VillageUnknown,
    WrongMerchantStatus,
)
from backend.merchants.models import MerchantCategory, MerchantStatus
from backend.merchants.schemas import (
    ApplicationForm,
    ApplicationIn,
    ApplicationReceived,
    ApprovedOut,
    InvitationAccept,
    MerchantAdminOut,
    ReactivateIn,
    ReasonIn,
)
from backend.tenants.errors import TenantNotFound
from backend.wallets.errors import EmailTokenExpired, EmailTokenInvalid, EmailTokenUsed

router = APIRouter(route_class=TransactionalRoute, tags=["merchant onboarding"])

Session = Annotated[AsyncSession, Depends(get_session)]
AUTH = (Unauthorized, TokenInvalid, TokenExpired, Forbidden)


def _settings(request: Request) -> Settings:
    return request.app.state.settings


@router.get(
    "/merchant-applications/form",
    response_model=ApplicationForm,
    summary="What the public application form offers (villages, categories); no sign-in",
    responses=problem_responses(TenantNotFound),
)
async def application_form(
    request: Request,
    session: Session,
    tenant: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> ApplicationForm:
    found = await service.tenant_for_form(session, slug=tenant or _settings(request).default_tenant)
    return ApplicationForm(
        tenant=found.slug, tenant_name=found.name, villages=list(found.villages), categories=list(MerchantCategory)
    )


@router.post(
    "/merchant-applications",
    response_model=ApplicationReceived,
    status_code=status.HTTP_201_CREATED,
    summary="A shop applies to take part (public; the municipality decides)",
    responses=problem_responses(
        TenantNotFound, VillageUnknown, VatNumberInvalid, IbanInvalid, EmailInvalid, PhoneInvalid,
        VatNumberTaken, RateLimited,
    ),
)
async def apply(body: ApplicationIn, request: Request, session: Session) -> ApplicationReceived:
    merchant = await service.submit_application(
        session, tenant_slug=body.tenant or _settings(request).default_tenant, data=body.model_dump()
    )
    assert merchant.id is not None
    return ApplicationReceived(
        id=merchant.id, name=merchant.name, status=MerchantStatus(merchant.status), created_at=merchant.created_at
    )


@router.get(
    "/merchants",
    response_model=Page[MerchantAdminOut],
    summary="Shops and applications of my municipality, newest first (status=pending: applications)",
    responses=problem_responses(*AUTH, InvalidCursor),
)
async def list_merchants(
    principal: AdminReader,
    session: Session,
    paging: Annotated[PageParams, Depends(page_params)],
    status_: Annotated[MerchantStatus | None, Query(alias="status")] = None,
    category: Annotated[MerchantCategory | None, Query()] = None,
    village: Annotated[str | None, Query(max_length=100)] = None,
    q: Annotated[str | None, Query(max_length=100, description="Part of name, contact or VAT number")] = None,
) -> Page[MerchantAdminOut]:
    rows = await service.list_merchants(
        session,
        tenant_id=principal.tenant_id,
        status=status_.value if status_ else None,
        category=category.value if category else None,
        village=village or None,
        search=q or None,
        limit=paging.limit,
        before_id=paging.before_id,
    )
    return Page(
        items=[MerchantAdminOut.of(m) for m in rows[: paging.limit]],
        next_cursor=next_cursor([m.id for m in rows if m.id is not None], paging.limit),
    )


@router.get(
    "/merchants/{merchant_id}",
    response_model=MerchantAdminOut,
    responses=problem_responses(*AUTH, MerchantNotFound),
)
async def get_merchant(merchant_id: IdPath, principal: AdminReader, session: Session) -> MerchantAdminOut:
    return MerchantAdminOut.of(
        await service.get_merchant(session, tenant_id=principal.tenant_id, merchant_id=merchant_id)
    )


@router.post(
    "/merchants/{merchant_id}/approve",
    response_model=ApprovedOut,
    summary="Approve an application: active shop, ledger accounts, owner invited by e-mail",
    responses=problem_responses(*AUTH, MerchantNotFound, WrongMerchantStatus, EmailTaken),
)
async def approve(merchant_id: IdPath, principal: AdminWriter, request: Request, session: Session) -> ApprovedOut:
    merchant, owner = await service.approve(
        session, principal=principal, merchant_id=merchant_id, settings=_settings(request)
    )
    assert owner.id is not None
    return ApprovedOut(**MerchantAdminOut.of(merchant).model_dump(), owner_user_id=owner.id)


@router.post(
    "/merchants/{merchant_id}/reject",
    response_model=MerchantAdminOut,
    responses=problem_responses(*AUTH, MerchantNotFound, WrongMerchantStatus),
)
async def reject(merchant_id: IdPath, body: ReasonIn, principal: AdminWriter, session: Session) -> MerchantAdminOut:
    return MerchantAdminOut.of(
        await service.reject(session, principal=principal, merchant_id=merchant_id, reason=body.reason)
    )


@router.post(
    "/merchants/{merchant_id}/suspend",
    response_model=MerchantAdminOut,
    summary="Suspend a shop: its till cannot issue or accept points; shoppers keep their points",
    responses=problem_responses(*AUTH, MerchantNotFound, WrongMerchantStatus),
)
async def suspend(merchant_id: IdPath, body: ReasonIn, principal: AdminWriter, session: Session) -> MerchantAdminOut:
    return MerchantAdminOut.of(
        await service.suspend(session, principal=principal, merchant_id=merchant_id, reason=body.reason)
    )


@router.post(
    "/merchants/{merchant_id}/reactivate",
    response_model=MerchantAdminOut,
    responses=problem_responses(*AUTH, MerchantNotFound, WrongMerchantStatus),
)
async def reactivate(
    merchant_id: IdPath, principal: AdminWriter, session: Session, body: ReactivateIn | None = None
) -> MerchantAdminOut:
    return MerchantAdminOut.of(
        await service.reactivate(
            session, principal=principal, merchant_id=merchant_id, reason=body.reason if body else ""
        )
    )


@router.post(
    "/merchant-invitations/accept",
    response_model=TokenResponse,
    summary="A new shop owner sets a password through the invitation link (signed in at once)",
    responses=problem_responses(EmailTokenInvalid, EmailTokenExpired, EmailTokenUsed, PasswordTooWeak),
)
async def accept_invitation(body: InvitationAccept, request: Request, session: Session) -> TokenResponse:
    user = await service.accept_invitation(session, raw_token=body.token, password=body.password)
    issued = await auth_service.issue_tokens(session, user=user, settings=_settings(request))
    return TokenResponse.of(issued)
