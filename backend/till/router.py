"""The till (cashier side) and the shopper's QR and claim endpoints over HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import Principal, require_roles
from backend.auth.errors import ApiKeyInvalid, TokenExpired, TokenInvalid
from backend.auth.models import Role
from backend.config import Settings
from backend.core.errors import (
    Forbidden,
    IdempotencyKeyInvalid,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    Unauthorized,
    problem_responses,
)
from backend.core.idempotency import idempotency_key_header
from backend.core.routing import TransactionalRoute, get_session
from backend.core.types import utcnow
from backend.ledger.errors import (
    AlreadyReversed,
    HoldAlreadyResolved,
    HoldExpired,
    InsufficientFunds,
)
from backend.ledger.service import effective_status
from backend.tenants.models import Tenant
from backend.till import claims, earn, redeem, reports, reversals
from backend.till.context import open_till
from backend.till.errors import (
    AmountInvalid,
    ClaimExpired,
    ClaimNotFound,
    ClaimUsed,
    DailyCapReached,
    EarnNotFound,
    FloatExhausted,
    MerchantSuspended,
    NotTillStaff,
    PurchaseBelowMinimum,
    RedemptionNotFound,
    RefundExceedsPurchase,
    RefundTooSmall,
    ScanExpired,
    ScanForeign,
    ScanTampered,
    ScanUnreadable,
    ScanUsed,
    ShopperRequired,
    TooManyAttempts,
    UndoWindowPassed,
)
from backend.till.schemas import (
    BonusOut,
    CaptureOut,
    ClaimCreated,
    ClaimIn,
    ClaimStatusOut,
    EarnIn,
    EarnOut,
    Empty,
    FloatOut,
    HoldOut,
    IdentifyIn,
    IdentifyOut,
    MeClaimIn,
    MeClaimOut,
    RedemptionIn,
    RefundIn,
    ReversalOut,
    TodayOut,
    WalletQrOut,
)
from backend.till.tokens import issue_wallet_token

router = APIRouter(route_class=TransactionalRoute, tags=["till"])

Session = Annotated[AsyncSession, Depends(get_session)]
IdempotencyKey = Annotated[str, Depends(idempotency_key_header)]
TillStaff = Annotated[Principal, Depends(require_roles(Role.CASHIER, Role.MERCHANT_OWNER))]
Owner = Annotated[Principal, Depends(require_roles(Role.MERCHANT_OWNER))]
ShopperPrincipal = Annotated[Principal, Depends(require_roles(Role.SHOPPER))]
Id = Annotated[int, Path(gt=0, le=2**63 - 1)]

AUTH = (
    Unauthorized,
    TokenExpired,
    TokenInvalid,
    ApiKeyInvalid,
    Forbidden,
    NotTillStaff,
    MerchantSuspended,
)
KEYED = (*AUTH, IdempotencyKeyMissing, IdempotencyKeyInvalid, IdempotencyKeyReused)
SCAN = (ScanUnreadable, ScanTampered, ScanForeign, ScanExpired, TooManyAttempts)


def _settings(request: Request) -> Settings:
    return request.app.state.settings


async def _bonuses(session: AsyncSession, tenant_id: int, earn_transfer_id: int) -> list[BonusOut]:
    from backend.campaigns.bonus import bonuses_for_earn

    found = await bonuses_for_earn(session, tenant_id=tenant_id, earn_transfer_id=earn_transfer_id)
    return [BonusOut(campaign_id=b.campaign_id, campaign_name=b.campaign_name, points=b.points, transfer_id=b.transfer_id) for b in found]


def _replayed(response: Response, replayed: bool) -> None:
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"


@router.post(
    "/till/identify",
    response_model=IdentifyOut,
    responses=problem_responses(*AUTH, *SCAN, ScanUsed),
)
async def identify(
    body: IdentifyIn, principal: TillStaff, session: Session, request: Request
) -> IdentifyOut:
    """Who is this? Shows the shopper before the cashier enters an amount."""
    till = await open_till(session, principal=principal)
    found = await earn.identify(
        session,
        till=till,
        scan=body.scan,
        purpose=body.purpose,
        settings=_settings(request),
        now=utcnow(),
    )
    scanned = found.scanned
    return IdentifyOut(
        kind=scanned.kind,
        display=scanned.display,
        card_last4=scanned.card_last4,
        needs_pin=found.needs_pin,
        available_points=found.available_points,
        token_expires_at=scanned.wallet_token.expires_at if scanned.wallet_token else None,
    )


@router.post(
    "/till/earns",
    response_model=EarnOut,
    status_code=201,
    responses=problem_responses(
        *KEYED, *SCAN, PurchaseBelowMinimum, DailyCapReached, FloatExhausted
    ),
)
async def create_earn(
    body: EarnIn,
    principal: TillStaff,
    session: Session,
    key: IdempotencyKey,
    request: Request,
    response: Response,
) -> EarnOut:
    till = await open_till(session, principal=principal)
    transfer = await earn.earn(
        session,
        till=till,
        scan=body.scan,
        purchase_cents=body.purchase_cents,
        idempotency_key=key,
        settings=_settings(request),
        now=utcnow(),
    )
    _replayed(response, transfer.replayed)
    bonuses = await _bonuses(session, till.tenant.id, transfer.id)  # type: ignore[arg-type]
    return EarnOut(
        transfer_id=transfer.id,
        points=transfer.amount,
        bonus_points=sum(b.points for b in bonuses),
        bonuses=bonuses,
        purchase_cents=transfer.meta["purchase_cents"],
        capped=bool(transfer.meta.get("capped")),
        shopper_display=await earn.shopper_display(
            session, wallet_account_id=transfer.credit_account_id, meta=transfer.meta
        ),
        undo_until=earn.undo_until(till, transfer),
        created_at=transfer.created_at,
    )


@router.post(
    "/till/earns/{transfer_id}/undo",
    response_model=ReversalOut,
    status_code=201,
    responses=problem_responses(
        *KEYED, EarnNotFound, UndoWindowPassed, AlreadyReversed, InsufficientFunds
    ),
)
async def undo_earn(
    transfer_id: Id,
    body: Empty,
    principal: TillStaff,
    session: Session,
    key: IdempotencyKey,
    response: Response,
) -> ReversalOut:
    till = await open_till(session, principal=principal, require_active=False)
    undone = await reversals.undo_earn(
        session, till=till, transfer_id=transfer_id, idempotency_key=key, now=utcnow()
    )
    _replayed(response, undone.transfer.replayed)
    return ReversalOut.of(undone)


@router.post(
    "/till/earns/{transfer_id}/refund",
    response_model=ReversalOut,
    status_code=201,
    responses=problem_responses(
        *KEYED,
        EarnNotFound,
        RefundExceedsPurchase,
        RefundTooSmall,
        AlreadyReversed,
        InsufficientFunds,
    ),
)
async def refund_earn(
    transfer_id: Id,
    body: RefundIn,
    principal: TillStaff,
    session: Session,
    key: IdempotencyKey,
    response: Response,
) -> ReversalOut:
    till = await open_till(session, principal=principal, require_active=False)
    refunded = await reversals.refund_earn(
        session,
        till=till,
        transfer_id=transfer_id,
        refund_cents=body.refund_cents,
        idempotency_key=key,
        now=utcnow(),
    )
    _replayed(response, refunded.transfer.replayed)
    return ReversalOut.of(refunded)


async def _hold_out(session: AsyncSession, hold: object, *, point_value_cents: int) -> HoldOut:
    return HoldOut(
        hold_id=hold.id,  # type: ignore[attr-defined]
        points=hold.amount,  # type: ignore[attr-defined]
        discount_cents=hold.amount * point_value_cents,  # type: ignore[attr-defined]
        expires_at=hold.expires_at,  # type: ignore[attr-defined]
        shopper_display=await earn.shopper_display(
            session,
            wallet_account_id=hold.debit_account_id,
            meta=hold.meta,  # type: ignore[attr-defined]
        ),
        status=effective_status(hold, now=utcnow()),  # type: ignore[arg-type]
    )


@router.post(
    "/till/redemptions",
    response_model=HoldOut,
    status_code=201,
    responses=problem_responses(*KEYED, *SCAN, ScanUsed, InsufficientFunds, AmountInvalid),
)
async def create_redemption(
    body: RedemptionIn,
    principal: TillStaff,
    session: Session,
    key: IdempotencyKey,
    request: Request,
    response: Response,
) -> HoldOut:
    """Reserve points for a discount. Card errors: card_unknown, card_pin_required,
    card_pin_wrong (attempts_left), card_locked (locked_until)."""
    till = await open_till(session, principal=principal)
    hold, replayed = await redeem.redeem(
        session,
        till=till,
        scan=body.scan,
        points=body.points,
        discount_cents=body.discount_cents,
        pin=body.pin,
        idempotency_key=key,
        settings=_settings(request),
        now=utcnow(),
    )
    _replayed(response, replayed)
    return await _hold_out(session, hold, point_value_cents=till.tenant.point_value_cents)


@router.post(
    "/till/redemptions/{hold_id}/capture",
    response_model=CaptureOut,
    status_code=201,
    responses=problem_responses(*KEYED, RedemptionNotFound, HoldExpired, HoldAlreadyResolved),
)
async def capture_redemption(
    hold_id: Id,
    body: Empty,
    principal: TillStaff,
    session: Session,
    key: IdempotencyKey,
    response: Response,
) -> CaptureOut:
    till = await open_till(session, principal=principal)
    transfer = await redeem.capture(
        session, till=till, hold_id=hold_id, idempotency_key=key, now=utcnow()
    )
    _replayed(response, transfer.replayed)
    return CaptureOut(
        transfer_id=transfer.id,
        points=transfer.amount,
        discount_cents=transfer.amount * till.tenant.point_value_cents,
    )


@router.post(
    "/till/redemptions/{hold_id}/void",
    response_model=HoldOut,
    responses=problem_responses(*AUTH, RedemptionNotFound, HoldAlreadyResolved),
)
async def void_redemption(
    hold_id: Id, body: Empty, principal: TillStaff, session: Session
) -> HoldOut:
    till = await open_till(session, principal=principal, require_active=False)
    hold = await redeem.void(session, till=till, hold_id=hold_id, now=utcnow())
    return await _hold_out(session, hold, point_value_cents=till.tenant.point_value_cents)


@router.post(
    "/till/claims",
    response_model=ClaimCreated,
    status_code=201,
    responses=problem_responses(*KEYED, PurchaseBelowMinimum),
)
async def create_claim(
    body: ClaimIn,
    principal: TillStaff,
    session: Session,
    key: IdempotencyKey,
    request: Request,
    response: Response,
) -> ClaimCreated:
    till = await open_till(session, principal=principal)
    issued = await claims.create_claim(
        session,
        till=till,
        purchase_cents=body.purchase_cents,
        idempotency_key=key,
        settings=_settings(request),
        now=utcnow(),
    )
    _replayed(response, issued.replayed)
    return ClaimCreated(
        claim_id=issued.row.id,  # type: ignore[arg-type]
        qr_text=issued.qr_text,
        qr_svg=issued.qr_svg,
        points=issued.row.points,
        expires_at=issued.row.expires_at,
    )


@router.get(
    "/till/claims/{claim_id}",
    response_model=ClaimStatusOut,
    responses=problem_responses(*AUTH, ClaimNotFound),
)
async def get_claim(claim_id: Id, principal: TillStaff, session: Session) -> ClaimStatusOut:
    till = await open_till(session, principal=principal, require_active=False)
    row = await claims.get_claim(session, till=till, claim_id=claim_id)
    return ClaimStatusOut(
        claim_id=row.id,  # type: ignore[arg-type]
        points=row.points,
        status=claims.claim_status(row, now=utcnow()),
        claimed_at=row.claimed_at,
        expires_at=row.expires_at,
    )


@router.get("/till/today", response_model=TodayOut, responses=problem_responses(*AUTH))
async def today(principal: TillStaff, session: Session) -> TodayOut:
    till = await open_till(session, principal=principal, require_active=False)
    day = await reports.till_day(session, till=till, now=utcnow())
    return TodayOut.model_validate(
        {
            "date": day.day,
            "earns": day.earns,
            "redemptions": day.redemptions,
            "totals": day.totals(),
        }
    )


@router.get("/till/float", response_model=FloatOut, responses=problem_responses(*AUTH))
async def float_state(principal: Owner, session: Session) -> FloatOut:
    till = await open_till(session, principal=principal, require_active=False)
    state = await reports.float_state(session, till=till, now=utcnow())
    return FloatOut(
        balance=state.balance,
        available=state.available,
        credit_limit=state.credit_limit,
        last_topup=state.last_topup,
        low=state.low,
    )


def _shopper_id(principal: Principal) -> int:
    if principal.shopper_id is None:
        raise ShopperRequired()
    return principal.shopper_id


@router.post(
    "/me/qr",
    response_model=WalletQrOut,
    responses=problem_responses(Unauthorized, TokenExpired, TokenInvalid, Forbidden),
)
async def wallet_qr(
    body: Empty, principal: ShopperPrincipal, session: Session, request: Request
) -> WalletQrOut:
    """A fresh QR for the till; fetch the next one after ``refresh_in_seconds``."""
    tenant = await session.get(Tenant, principal.tenant_id)
    issued = await issue_wallet_token(
        session,
        tenant=tenant,
        shopper_id=_shopper_id(principal),
        settings=_settings(request),  # type: ignore[arg-type]
    )
    ttl = tenant.qr_token_ttl_seconds  # type: ignore[union-attr]
    return WalletQrOut(
        qr_text=issued.qr_text,
        short_code=issued.short_code,
        qr_svg=issued.qr_svg,
        expires_at=issued.expires_at,
        refresh_in_seconds=max(1, min(ttl - 15, ttl * 3 // 4)),
    )


@router.post(
    "/me/claims",
    response_model=MeClaimOut,
    status_code=201,
    responses=problem_responses(
        Unauthorized,
        TokenExpired,
        TokenInvalid,
        Forbidden,
        IdempotencyKeyMissing,
        IdempotencyKeyInvalid,
        IdempotencyKeyReused,
        ScanUnreadable,
        ScanTampered,
        ScanForeign,
        ClaimUsed,
        ClaimExpired,
        DailyCapReached,
        FloatExhausted,
        MerchantSuspended,
    ),
)
async def claim_points(
    body: MeClaimIn,
    principal: ShopperPrincipal,
    session: Session,
    key: IdempotencyKey,
    request: Request,
    response: Response,
) -> MeClaimOut:
    claimed = await claims.claim(
        session,
        tenant_id=principal.tenant_id,
        shopper_id=_shopper_id(principal),
        qr_text=body.qr_text,
        idempotency_key=key,
        settings=_settings(request),
        now=utcnow(),
    )
    _replayed(response, claimed.transfer.replayed)
    bonuses = await _bonuses(session, claimed.transfer.tenant_id, claimed.transfer.id)
    return MeClaimOut(
        transfer_id=claimed.transfer.id,
        points=claimed.transfer.amount,
        bonus_points=sum(b.points for b in bonuses),
        bonuses=bonuses,
        merchant_name=claimed.merchant_name,
    )
