"""The shopper's wallet, history, data export and erasure; the public shop list."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import Principal, require_roles
from backend.auth.errors import TokenExpired, TokenInvalid
from backend.auth.models import Role
from backend.core.errors import Forbidden, RateLimited, Unauthorized, problem_responses
from backend.core.pagination import (
    MAX_PAGE_SIZE,
    InvalidCursor,
    Page,
    PageParams,
    next_cursor,
    page_params,
)
from backend.core.routing import TransactionalRoute, get_session
from backend.merchants.models import MerchantCategory
from backend.tenants.errors import TenantNotFound
from backend.wallets import privacy, service
from backend.wallets.errors import AccountClosed, ConfirmationRequired, PasswordIncorrect
from backend.wallets.schemas import DeleteAccountRequest, HistoryItemOut, ShopOut, WalletOut

router = APIRouter(route_class=TransactionalRoute, tags=["wallet"])

Session = Annotated[AsyncSession, Depends(get_session)]
ShopperPrincipal = Annotated[Principal, Depends(require_roles(Role.SHOPPER))]

_AUTH_ERRORS = (Unauthorized, TokenExpired, TokenInvalid, AccountClosed, Forbidden)
_CATEGORY_PATTERN = "^(" + "|".join([*(c.value for c in MerchantCategory), "run", "fun"]) + ")$"


@router.get(
    "/me/wallet",
    response_model=WalletOut,
    summary="My balance, open reservations and points that lapse soon",
    responses=problem_responses(*_AUTH_ERRORS),
)
async def get_wallet(principal: ShopperPrincipal, session: Session) -> WalletOut:
    return WalletOut.of(await service.wallet_view(session, principal=principal))


@router.get(
    "/me/history",
    response_model=Page[HistoryItemOut],
    summary="What moved in and out of my wallet, newest first",
    responses=problem_responses(*_AUTH_ERRORS, InvalidCursor),
)
async def get_history(
    principal: ShopperPrincipal,
    session: Session,
    paging: Annotated[PageParams, Depends(page_params)],
) -> Page[HistoryItemOut]:
    shopper, wallet = await service.shopper_wallet(session, principal=principal)
    items = await service.history_page(
        session,
        tenant_id=shopper.tenant_id,
        account_id=wallet.id,  # type: ignore[arg-type]
        limit=paging.limit,
        before_id=paging.before_id,
    )
    return Page(
        items=[HistoryItemOut.of(item) for item in items[: paging.limit]],
        next_cursor=next_cursor([item.entry_id for item in items], paging.limit),
    )


@router.get(
    "/me/export",
    summary="Everything we hold about me, as a JSON download",
    responses={
        200: {"content": {"application/json": {}}},
        **problem_responses(*_AUTH_ERRORS),
    },
)
async def export_my_data(principal: ShopperPrincipal, session: Session) -> Response:
    data = await privacy.export_data(session, principal=principal)
    return Response(
        content=orjson.dumps(data, option=orjson.OPT_INDENT_2),
        media_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="kernpunt-my-data.json"',
            "Cache-Control": "no-store",
        },
    )


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete my account: remaining points are forfeited, personal data erased",
    responses=problem_responses(
        *_AUTH_ERRORS, ConfirmationRequired, PasswordIncorrect, RateLimited
    ),
)
async def delete_me(
    body: DeleteAccountRequest, principal: ShopperPrincipal, session: Session
) -> Response:
    await privacy.delete_account(
        session, principal=principal, password=body.password, confirm=body.confirm
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/shops",
    response_model=Page[ShopOut],
    summary="Participating shops (public), by name",
    responses=problem_responses(TenantNotFound, InvalidCursor),
)
async def list_shops(
    request: Request,
    session: Session,
    tenant: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="Part of name, address or village")
    ] = None,
    category: Annotated[
        str | None,
        Query(pattern=_CATEGORY_PATTERN, description="A shop category, or run / fun"),
    ] = None,
    village: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> Page[ShopOut]:
    rows = await service.list_shops(
        session,
        tenant_slug=tenant or request.app.state.settings.default_tenant,
        q=q,
        category=category,
        village=village,
        limit=limit,
        after=service.decode_shop_cursor(cursor) if cursor else None,
    )
    next_page = None
    if len(rows) > limit:
        name_key, merchant = rows[limit - 1]
        next_page = service.encode_shop_cursor(name_key, merchant.id)  # type: ignore[arg-type]
    return Page(items=[ShopOut.of(m) for _, m in rows[:limit]], next_cursor=next_page)
