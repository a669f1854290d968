"""Cards API: batches and their PIN sheet (municipality), registration (shopper), blocking."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import AdminReader, AdminWriter, Principal, require_roles
from backend.auth.models import Role
from backend.cards import service
from backend.cards.errors import (
    CardAlreadyRegistered,
    CardBatchNotFound,
    CardBlocked,
    CardLocked,
    CardNumberInvalid,
    CardPinRequired,
    CardPinWrong,
    CardSheetGone,
    CardUnknown,
    ShopperOnly,
)
from backend.cards.numbers import format_card_number, last4
from backend.cards.pdf import render_sheet
from backend.cards.schemas import (
    BatchCard,
    BatchCreate,
    BatchCreated,
    BatchOut,
    CardBlockedOut,
    CardRegister,
    CardRegistered,
    ShopperCardOut,
    ShopperCards,
)
from backend.core.errors import (
    Forbidden,
    IdempotencyKeyInvalid,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    Unauthorized,
    problem_responses,
)
from backend.core.idempotency import idempotency_key_header
from backend.core.pagination import InvalidCursor, Page, PageParams, next_cursor, page_params
from backend.core.routing import TransactionalRoute, get_session
from backend.core.types import utcnow

router = APIRouter(route_class=TransactionalRoute, tags=["cards"])

Session = Annotated[AsyncSession, Depends(get_session)]
IdempotencyKey = Annotated[str, Depends(idempotency_key_header)]
Paging = Annotated[PageParams, Depends(page_params)]
ShopperPrincipal = Annotated[Principal, Depends(require_roles(Role.SHOPPER))]

AUTH_ERRORS = (Unauthorized, Forbidden)
PIN_ERRORS = (CardPinRequired, CardPinWrong, CardLocked)


async def signing_keys(request: Request) -> dict[str, str]:
    return request.app.state.settings.signing_keys()


SigningKeys = Annotated[dict[str, str], Depends(signing_keys)]


def _sheet_url(batch_id: int) -> str:
    return f"/api/v1/cards/batches/{batch_id}/sheet.pdf"


def _shopper_id(principal: Principal) -> int:
    if principal.shopper_id is None:
        raise ShopperOnly("This account has no wallet.")
    return principal.shopper_id


@router.post(
    "/cards/batches",
    response_model=BatchCreated,
    status_code=201,
    responses=problem_responses(*AUTH_ERRORS),
)
async def create_batch(
    body: BatchCreate, principal: AdminWriter, session: Session, keys: SigningKeys
) -> BatchCreated:
    """Make ``count`` cards, each with its own wallet and PIN. The PINs are printable from
    ``sheet_url`` until ``sheet_available_until`` (24 h), never afterwards."""
    batch, cards = await service.create_batch(
        session,
        tenant_id=principal.tenant_id,
        count=body.count,
        signing_keys=keys,
        created_by_user_id=principal.user_id,
    )
    assert batch.id is not None
    return BatchCreated(
        batch_id=batch.id,
        size=batch.size,
        created_at=batch.created_at,
        sheet_url=_sheet_url(batch.id),
        sheet_available_until=batch.created_at + service.SHEET_TTL,
        cards=[
            BatchCard(number=c.number, number_display=format_card_number(c.number)) for c in cards
        ],
    )


@router.get(
    "/cards/batches",
    response_model=Page[BatchOut],
    responses=problem_responses(*AUTH_ERRORS, InvalidCursor),
)
async def list_batches(principal: AdminReader, session: Session, paging: Paging) -> Page[BatchOut]:
    summaries = await service.list_batches(
        session, tenant_id=principal.tenant_id, limit=paging.limit, before_id=paging.before_id
    )
    shown = summaries[: paging.limit]
    items = [
        BatchOut(
            batch_id=s.batch.id,  # type: ignore[arg-type]
            size=s.batch.size,
            created_at=s.batch.created_at,
            created_by_user_id=s.batch.created_by_user_id,
            registered=s.registered,
            blocked=s.blocked,
            sheet_url=_sheet_url(s.batch.id),  # type: ignore[arg-type]
            sheet_available_until=s.batch.created_at + service.SHEET_TTL,
        )
        for s in shown
    ]
    return Page(items=items, next_cursor=next_cursor([s.batch.id for s in summaries], paging.limit))  # type: ignore[misc]


@router.get(
    "/cards/batches/{batch_id}/sheet.pdf",
    response_class=Response,
    responses={
        200: {
            "content": {"application/pdf": {}},
            "description": "Card fronts, then the PIN slips.",
        },
        **problem_responses(*AUTH_ERRORS, CardBatchNotFound, CardSheetGone),
    },
)
async def batch_sheet(
    batch_id: int, principal: AdminWriter, session: Session, keys: SigningKeys
) -> Response:
    """The printable sheet with the PINs: admins only (not auditors), for 24 h after the batch was made."""
    sheet = await service.pin_sheet(
        session, tenant_id=principal.tenant_id, batch_id=batch_id, signing_keys=keys
    )
    # fpdf2 is pure Python: off the event loop, 500 cards take about a second.
    content = await asyncio.to_thread(
        render_sheet, town=sheet.town, batch_id=batch_id, cards=sheet.cards
    )
    return Response(
        content=content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="kernpunt-kaarten-reeks-{batch_id}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.post(
    "/cards/{number}/block",
    response_model=CardBlockedOut,
    responses=problem_responses(*AUTH_ERRORS, CardNumberInvalid, CardUnknown),
)
async def block_card(number: str, principal: AdminWriter, session: Session) -> CardBlockedOut:
    """Block a lost or stolen card for good; blocking twice changes nothing."""
    card = await service.block_card(session, tenant_id=principal.tenant_id, number=number)
    assert card.blocked_at is not None
    return CardBlockedOut(
        number=card.number, card_last4=last4(card.number), blocked_at=card.blocked_at
    )


@router.post(
    "/me/cards",
    response_model=CardRegistered,
    status_code=201,
    responses=problem_responses(
        *AUTH_ERRORS,
        IdempotencyKeyMissing,
        IdempotencyKeyInvalid,
        IdempotencyKeyReused,
        CardNumberInvalid,
        CardUnknown,
        CardBlocked,
        CardAlreadyRegistered,
        ShopperOnly,
        *PIN_ERRORS,
    ),
)
async def register_card(
    body: CardRegister,
    principal: ShopperPrincipal,
    session: Session,
    key: IdempotencyKey,
    response: Response,
) -> CardRegistered:
    """Register a card: its points move into this wallet and its future earns land here.
    Registering the same card again returns the original result (``Idempotent-Replayed: true``)."""
    registration = await service.register_card(
        session,
        tenant_id=principal.tenant_id,
        shopper_id=_shopper_id(principal),
        number=body.number,
        pin=body.pin,
        idempotency_key=key,
        now=utcnow(),
    )
    if registration.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    card = registration.card
    return CardRegistered(
        card_last4=last4(card.number),
        registered_at=card.registered_at,
        blocked=card.blocked_at is not None,
        points_moved=registration.points_moved,
        transfer_id=registration.transfer_id,
    )


@router.get(
    "/me/cards", response_model=ShopperCards, responses=problem_responses(*AUTH_ERRORS, ShopperOnly)
)
async def my_cards(principal: ShopperPrincipal, session: Session) -> ShopperCards:
    cards = await service.list_shopper_cards(
        session, tenant_id=principal.tenant_id, shopper_id=_shopper_id(principal)
    )
    return ShopperCards(
        items=[
            ShopperCardOut(
                card_last4=last4(c.number),
                registered_at=c.registered_at,
                blocked=c.blocked_at is not None,
            )
            for c in cards
        ]
    )
