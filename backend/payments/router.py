"""Float top-ups through Stripe Checkout, the Stripe webhook, the float and reconciliation."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

import stripe
from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import AdminReader, CurrentPrincipal, Principal
from backend.auth.errors import TokenExpired, TokenInvalid
from backend.auth.models import Role
from backend.core.errors import (
    Forbidden,
    IdempotencyKeyInvalid,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    Unauthorized,
    problem_responses,
)
from backend.core.idempotency import idempotency_key_header
from backend.core.ids import IdPath
from backend.core.pagination import InvalidCursor, Page, PageParams, next_cursor, page_params
from backend.core.routing import TransactionalRoute, get_session
from backend.core.types import utcnow
from backend.payments import reconciliation, service
from backend.payments.errors import (
    AmountNotWholePoints,
    AmountOutOfRange,
    InvalidPeriod,
    MerchantNotActive,
    MerchantNotFound,
    PaymentProviderError,
    PaymentsUnavailable,
    StripePayloadInvalid,
    StripeSignatureInvalid,
)
from backend.payments.float_state import merchant_float
from backend.payments.gateway import StripeGateway, get_gateway
from backend.payments.models import TopUp
from backend.payments.schemas import (
    MerchantFloatOut,
    ReconciliationOut,
    TopUpIn,
    TopUpOut,
    WebhookOut,
)
from backend.payments.webhooks import handle_event
from backend.tenants.models import Tenant

router = APIRouter(route_class=TransactionalRoute, tags=["payments"])

Session = Annotated[AsyncSession, Depends(get_session)]
Gateway = Annotated[StripeGateway, Depends(get_gateway)]
Paging = Annotated[PageParams, Depends(page_params)]
AUTH = (Unauthorized, TokenInvalid, TokenExpired, Forbidden)


def _allowed_merchant(principal: Principal, merchant_id: int, *, readers: bool = False) -> None:
    """Admin (and for reading, auditor) see every shop; an owner only its own, others are 404."""
    allowed = {Role.MUNICIPALITY_ADMIN} | ({Role.AUDITOR} if readers else set())
    if principal.role in allowed:
        return
    if principal.role != Role.MERCHANT_OWNER:
        raise Forbidden("Only the shop's owner or the municipality may do this.")
    if principal.merchant_id != merchant_id:
        raise MerchantNotFound(f"Merchant {merchant_id} does not exist in this municipality.")


def _out(topup: TopUp) -> TopUpOut:
    return TopUpOut.model_validate(topup, from_attributes=True)


@router.post(
    "/merchants/{merchant_id}/topups",
    response_model=TopUpOut,
    status_code=201,
    responses=problem_responses(
        *AUTH, MerchantNotFound, MerchantNotActive, AmountNotWholePoints, AmountOutOfRange,
        IdempotencyKeyMissing, IdempotencyKeyInvalid, IdempotencyKeyReused, PaymentsUnavailable,
        PaymentProviderError,
    ),
)
async def create_topup(
    merchant_id: IdPath,
    body: TopUpIn,
    principal: CurrentPrincipal,
    session: Session,
    gateway: Gateway,
    request: Request,
    idempotency_key: Annotated[str, Depends(idempotency_key_header)],
) -> TopUpOut:
    """Start buying float: returns the Stripe Checkout page to send the owner to.

    The float is credited only when Stripe reports the payment by webhook.
    """
    _allowed_merchant(principal, merchant_id)
    topup = await service.create_topup(
        session,
        gateway=gateway,
        tenant_id=principal.tenant_id,
        merchant_id=merchant_id,
        amount_cents=body.amount_cents,
        idempotency_key=idempotency_key,
        user_id=principal.user_id,
        return_base_url=request.app.state.settings.public_url,
    )
    return _out(topup)


@router.get(
    "/merchants/{merchant_id}/topups",
    response_model=Page[TopUpOut],
    responses=problem_responses(*AUTH, MerchantNotFound, InvalidCursor),
)
async def list_topups(
    merchant_id: IdPath, principal: CurrentPrincipal, session: Session, paging: Paging
) -> Page[TopUpOut]:
    _allowed_merchant(principal, merchant_id, readers=True)
    await service.get_merchant(session, tenant_id=principal.tenant_id, merchant_id=merchant_id)
    rows = await service.list_topups(
        session, tenant_id=principal.tenant_id, merchant_id=merchant_id, limit=paging.limit, before_id=paging.before_id
    )
    return Page(
        items=[_out(row) for row in rows[: paging.limit]],
        next_cursor=next_cursor([row.id for row in rows], paging.limit),  # type: ignore[misc]
    )


@router.get(
    "/merchants/{merchant_id}/float",
    response_model=MerchantFloatOut,
    responses=problem_responses(*AUTH, MerchantNotFound),
)
async def get_float(merchant_id: IdPath, principal: CurrentPrincipal, session: Session) -> MerchantFloatOut:
    """The shop's float, with the low-float warning the till uses and any open float debt."""
    _allowed_merchant(principal, merchant_id, readers=True)
    return MerchantFloatOut(
        **await merchant_float(session, tenant_id=principal.tenant_id, merchant_id=merchant_id, now=utcnow())
    )


@router.post(
    "/stripe/webhook",
    response_model=WebhookOut,
    responses=problem_responses(StripeSignatureInvalid, StripePayloadInvalid, PaymentsUnavailable),
)
async def stripe_webhook(request: Request, session: Session, gateway: Gateway) -> WebhookOut:
    """Stripe's signed events; each event id is processed once, in whatever order they come."""
    payload = await request.body()
    try:
        event = gateway.construct_event(payload, request.headers.get("stripe-signature"))
    except stripe.SignatureVerificationError as exc:
        raise StripeSignatureInvalid() from exc
    except ValueError as exc:
        raise StripePayloadInvalid() from exc
    try:
        event.id, event.type, event.data.object  # noqa: B018
    except (AttributeError, KeyError) as exc:
        raise StripePayloadInvalid("The event lacks an id, a type or a data object.") from exc
    outcome = await handle_event(session, event=event)
    return WebhookOut(received=True, outcome=str(outcome))


@router.get(
    "/payments/reconciliation",
    response_model=ReconciliationOut,
    response_model_by_alias=True,
    responses=problem_responses(*AUTH, InvalidPeriod),
)
async def reconciliation_report(
    principal: AdminReader,
    session: Session,
    from_: Annotated[date | None, Query(alias="from", description="First day (municipality's calendar)")] = None,
    to: Annotated[date | None, Query(description="Day after the last one; default tomorrow")] = None,
) -> ReconciliationOut:
    tenant = await session.get(Tenant, principal.tenant_id)
    assert tenant is not None
    end = to or (utcnow().date() + timedelta(days=1))
    start = from_ or end - timedelta(days=31)
    report = await reconciliation.reconcile(session, tenant=tenant, start=start, end=end)
    return ReconciliationOut.model_validate(report)
