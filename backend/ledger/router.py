"""Ledger administration API: accounts, balances, entries, transfers, holds, reversals."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import AdminReader, AdminWriter
from backend.core.errors import (
    Forbidden,
    IdempotencyKeyInvalid,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    Unauthorized,
    problem_responses,
)
from backend.core.idempotency import idempotency_key_header
from backend.core.ids import IdPath, IdQuery
from backend.core.pagination import InvalidCursor, Page, PageParams, next_cursor, page_params
from backend.core.routing import TransactionalRoute, get_session
from backend.core.types import utcnow
from backend.ledger import service
from backend.ledger.errors import (
    AccountExists,
    AccountNotFound,
    AlreadyReversed,
    CannotReverse,
    CaptureExceedsHold,
    CreditLimitTooLow,
    FlowNotAllowed,
    HoldAlreadyResolved,
    HoldExpired,
    HoldNotFound,
    InsufficientFunds,
    InvalidAmount,
    ReversalExceedsAmount,
    TransferNotFound,
)
from backend.ledger.models import AccountType, HoldStatus
from backend.ledger.schemas import (
    AccountCreate,
    AccountOut,
    BalanceOut,
    CreditLimitUpdate,
    EntryOut,
    HoldCapture,
    HoldCreate,
    HoldOut,
    ReversalCreate,
    TransferCreate,
    TransferOut,
    VerifyOut,
)
from backend.ledger.verify import UNSEALED_PREFIX, verify_tenant
from backend.merchants.models import Merchant
from backend.tenants.models import Tenant
from backend.wallets.models import Shopper

router = APIRouter(route_class=TransactionalRoute, tags=["ledger"])

Session = Annotated[AsyncSession, Depends(get_session)]
IdempotencyKey = Annotated[str, Depends(idempotency_key_header)]
Paging = Annotated[PageParams, Depends(page_params)]

AUTH_ERRORS = (Unauthorized, Forbidden)
WRITE_ERRORS = (*AUTH_ERRORS, IdempotencyKeyMissing, IdempotencyKeyInvalid, IdempotencyKeyReused)


def _balance_out(balance: service.Balance) -> BalanceOut:
    return BalanceOut(
        account_id=balance.account_id,
        balance=balance.balance,
        pending=balance.pending,
        available=balance.available,
        floor=balance.floor,
    )


def _transfer_out(transfer: object) -> TransferOut:
    return TransferOut.model_validate(transfer, from_attributes=True)


def _hold_out(hold: object) -> HoldOut:
    out = HoldOut.model_validate(hold, from_attributes=True)
    out.status = service.effective_status(hold, now=utcnow())  # type: ignore[arg-type]
    return out


def _replayed(response: Response, replayed: bool) -> None:
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"


@router.get("/accounts", response_model=Page[AccountOut], responses=problem_responses(*AUTH_ERRORS, InvalidCursor))
async def list_accounts(
    principal: AdminReader,
    session: Session,
    paging: Paging,
    type: AccountType | None = None,
    merchant_id: IdQuery = None,
    shopper_id: IdQuery = None,
) -> Page[AccountOut]:
    accounts = await service.list_accounts(
        session,
        tenant_id=principal.tenant_id,
        limit=paging.limit,
        before_id=paging.before_id,
        account_type=type,
        merchant_id=merchant_id,
        shopper_id=shopper_id,
    )
    shown = accounts[: paging.limit]
    balances = await service.get_balances(session, tenant_id=principal.tenant_id, account_ids=[a.id for a in shown])
    items = [
        AccountOut.model_validate(account, from_attributes=True).model_copy(
            update={"balance": _balance_out(balances[account.id])}
        )
        for account in shown
    ]
    return Page(items=items, next_cursor=next_cursor([a.id for a in accounts], paging.limit))


@router.post(
    "/accounts",
    response_model=AccountOut,
    status_code=201,
    responses=problem_responses(*AUTH_ERRORS, AccountExists, AccountNotFound),
)
async def create_account(body: AccountCreate, principal: AdminWriter, session: Session) -> AccountOut:
    tenant_id = principal.tenant_id
    if body.merchant_id is not None:
        merchant = await session.get(Merchant, body.merchant_id)
        if merchant is None or merchant.tenant_id != tenant_id:
            raise AccountNotFound(f"Merchant {body.merchant_id} does not exist in this municipality.")
    if body.shopper_id is not None:
        shopper = await session.get(Shopper, body.shopper_id)
        if shopper is None or shopper.tenant_id != tenant_id:
            raise AccountNotFound(f"Shopper {body.shopper_id} does not exist in this municipality.")
    account = await service.open_account(
        session,
        tenant_id=tenant_id,
        account_type=body.type,
        name=body.name,
        code=body.code or f"{body.type.value}:{secrets.token_hex(6)}",
        merchant_id=body.merchant_id,
        shopper_id=body.shopper_id,
        shard_count=body.shard_count,
        credit_limit=body.credit_limit,
    )
    balance = await service.get_balance(session, tenant_id=tenant_id, account_id=account.id)
    return AccountOut.model_validate(account, from_attributes=True).model_copy(
        update={"balance": _balance_out(balance)}
    )


@router.get("/accounts/{account_id}", response_model=AccountOut, responses=problem_responses(*AUTH_ERRORS, AccountNotFound))
async def get_account(account_id: IdPath, principal: AdminReader, session: Session) -> AccountOut:
    account = await service.get_account(session, tenant_id=principal.tenant_id, account_id=account_id)
    balance = await service.get_balance(session, tenant_id=principal.tenant_id, account_id=account_id)
    return AccountOut.model_validate(account, from_attributes=True).model_copy(
        update={"balance": _balance_out(balance)}
    )


@router.get(
    "/accounts/{account_id}/balance", response_model=BalanceOut, responses=problem_responses(*AUTH_ERRORS, AccountNotFound)
)
async def get_balance(account_id: IdPath, principal: AdminReader, session: Session) -> BalanceOut:
    return _balance_out(await service.get_balance(session, tenant_id=principal.tenant_id, account_id=account_id))


@router.put(
    "/accounts/{account_id}/credit-limit",
    response_model=AccountOut,
    responses=problem_responses(*AUTH_ERRORS, AccountNotFound, FlowNotAllowed, CreditLimitTooLow, InvalidAmount),
)
async def set_credit_limit(
    account_id: IdPath, body: CreditLimitUpdate, principal: AdminWriter, session: Session
) -> AccountOut:
    account = await service.set_credit_limit(
        session, tenant_id=principal.tenant_id, account_id=account_id, credit_limit=body.credit_limit
    )
    balance = await service.get_balance(session, tenant_id=principal.tenant_id, account_id=account_id)
    return AccountOut.model_validate(account, from_attributes=True).model_copy(
        update={"balance": _balance_out(balance)}
    )


@router.get(
    "/accounts/{account_id}/entries",
    response_model=Page[EntryOut],
    responses=problem_responses(*AUTH_ERRORS, AccountNotFound, InvalidCursor),
)
async def list_entries(account_id: IdPath, principal: AdminReader, session: Session, paging: Paging) -> Page[EntryOut]:
    rows = await service.list_entries(
        session, tenant_id=principal.tenant_id, account_id=account_id, limit=paging.limit, before_id=paging.before_id
    )
    items = [
        EntryOut(
            id=entry.id,
            transfer_id=entry.transfer_id,
            account_id=entry.account_id,
            amount=entry.amount,
            kind=transfer.kind,
            counterparty_account_id=(
                transfer.credit_account_id if entry.amount < 0 else transfer.debit_account_id
            ),
            reverses_transfer_id=transfer.reverses_transfer_id,
            description=transfer.description,
            created_at=entry.created_at,
        )
        for entry, transfer in rows[: paging.limit]
    ]
    return Page(items=items, next_cursor=next_cursor([entry.id for entry, _ in rows], paging.limit))


@router.post(
    "/transfers",
    response_model=TransferOut,
    status_code=201,
    responses=problem_responses(*WRITE_ERRORS, AccountNotFound, FlowNotAllowed, InsufficientFunds, InvalidAmount),
)
async def create_transfer(
    body: TransferCreate, principal: AdminWriter, session: Session, key: IdempotencyKey, response: Response
) -> TransferOut:
    if body.kind == service.REVERSAL_KIND:
        raise FlowNotAllowed("Reverse a transfer with POST /transfers/{id}/reversals.")
    transfer = await service.post_transfer(
        session,
        tenant_id=principal.tenant_id,
        idempotency_key=key,
        kind=body.kind,
        debit_account_id=body.debit_account_id,
        credit_account_id=body.credit_account_id,
        amount=body.amount,
        description=body.description,
        meta=body.meta,
        created_by_user_id=principal.user_id,
    )
    _replayed(response, transfer.replayed)
    return _transfer_out(transfer)


@router.get(
    "/transfers", response_model=Page[TransferOut], responses=problem_responses(*AUTH_ERRORS, InvalidCursor)
)
async def list_transfers(
    principal: AdminReader,
    session: Session,
    paging: Paging,
    account_id: IdQuery = None,
    kind: Annotated[str | None, Query(max_length=32)] = None,
) -> Page[TransferOut]:
    transfers = await service.list_transfers(
        session,
        tenant_id=principal.tenant_id,
        limit=paging.limit,
        before_id=paging.before_id,
        account_id=account_id,
        kind=kind,
    )
    return Page(
        items=[_transfer_out(t) for t in transfers[: paging.limit]],
        next_cursor=next_cursor([t.id for t in transfers], paging.limit),
    )


@router.get(
    "/transfers/{transfer_id}", response_model=TransferOut, responses=problem_responses(*AUTH_ERRORS, TransferNotFound)
)
async def get_transfer(transfer_id: IdPath, principal: AdminReader, session: Session) -> TransferOut:
    return _transfer_out(await service.get_transfer(session, tenant_id=principal.tenant_id, transfer_id=transfer_id))


@router.post(
    "/transfers/{transfer_id}/reversals",
    response_model=TransferOut,
    status_code=201,
    responses=problem_responses(
        *WRITE_ERRORS, TransferNotFound, AlreadyReversed, CannotReverse, ReversalExceedsAmount, InsufficientFunds
    ),
)
async def reverse_transfer(
    transfer_id: IdPath,
    body: ReversalCreate,
    principal: AdminWriter,
    session: Session,
    key: IdempotencyKey,
    response: Response,
) -> TransferOut:
    transfer = await service.reverse_transfer(
        session,
        tenant_id=principal.tenant_id,
        transfer_id=transfer_id,
        idempotency_key=key,
        amount=body.amount,
        description=body.description,
        created_by_user_id=principal.user_id,
    )
    _replayed(response, transfer.replayed)
    return _transfer_out(transfer)


@router.post(
    "/holds",
    response_model=HoldOut,
    status_code=201,
    responses=problem_responses(*WRITE_ERRORS, AccountNotFound, FlowNotAllowed, InsufficientFunds, InvalidAmount),
)
async def create_hold(
    body: HoldCreate, principal: AdminWriter, session: Session, key: IdempotencyKey, response: Response
) -> HoldOut:
    tenant = await session.get(Tenant, principal.tenant_id)
    hold, replayed = await service.create_hold(
        session,
        tenant_id=principal.tenant_id,
        idempotency_key=key,
        kind=body.kind,
        debit_account_id=body.debit_account_id,
        credit_account_id=body.credit_account_id,
        amount=body.amount,
        timeout_seconds=body.timeout_seconds or tenant.hold_timeout_seconds,  # type: ignore[union-attr]
        description=body.description,
        meta=body.meta,
        created_by_user_id=principal.user_id,
    )
    _replayed(response, replayed)
    return _hold_out(hold)


@router.get("/holds", response_model=Page[HoldOut], responses=problem_responses(*AUTH_ERRORS, InvalidCursor))
async def list_holds(
    principal: AdminReader,
    session: Session,
    paging: Paging,
    account_id: IdQuery = None,
    status: HoldStatus | None = None,
) -> Page[HoldOut]:
    holds = await service.list_holds(
        session,
        tenant_id=principal.tenant_id,
        limit=paging.limit,
        before_id=paging.before_id,
        account_id=account_id,
        status=status.value if status else None,
    )
    return Page(
        items=[_hold_out(h) for h in holds[: paging.limit]],
        next_cursor=next_cursor([h.id for h in holds], paging.limit),
    )


@router.get("/holds/{hold_id}", response_model=HoldOut, responses=problem_responses(*AUTH_ERRORS, HoldNotFound))
async def get_hold(hold_id: IdPath, principal: AdminReader, session: Session) -> HoldOut:
    return _hold_out(await service.get_hold(session, tenant_id=principal.tenant_id, hold_id=hold_id))


@router.post(
    "/holds/{hold_id}/capture",
    response_model=TransferOut,
    status_code=201,
    responses=problem_responses(*WRITE_ERRORS, HoldNotFound, HoldAlreadyResolved, HoldExpired, CaptureExceedsHold),
)
async def capture_hold(
    hold_id: IdPath, body: HoldCapture, principal: AdminWriter, session: Session, key: IdempotencyKey, response: Response
) -> TransferOut:
    transfer = await service.capture_hold(
        session,
        tenant_id=principal.tenant_id,
        hold_id=hold_id,
        idempotency_key=key,
        amount=body.amount,
        description=body.description,
        created_by_user_id=principal.user_id,
    )
    _replayed(response, transfer.replayed)
    return _transfer_out(transfer)


@router.post(
    "/holds/{hold_id}/void",
    response_model=HoldOut,
    responses=problem_responses(*AUTH_ERRORS, HoldNotFound, HoldAlreadyResolved),
)
async def void_hold(hold_id: IdPath, principal: AdminWriter, session: Session) -> HoldOut:
    return _hold_out(await service.void_hold(session, tenant_id=principal.tenant_id, hold_id=hold_id))


@router.get("/ledger/verify", response_model=VerifyOut, responses=problem_responses(*AUTH_ERRORS))
async def verify(principal: AdminReader, request: Request) -> VerifyOut:
    """Recompute every balance from entries and check the hash chain of sealed transfers.

    Runs on one consistent snapshot (REPEATABLE READ on PostgreSQL), so transfers posted
    while it reads cannot show up as differences. Transfers the sealer has not reached
    yet are reported in ``unsealed``, not as problems.
    """
    engine = request.app.state.read_engine
    async with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection = await connection.execution_options(isolation_level="REPEATABLE READ")
        async with AsyncSession(bind=connection) as snapshot:
            report = await verify_tenant(snapshot, tenant_id=principal.tenant_id)
            await snapshot.rollback()
    problems = [p for p in report.problems if not p.startswith(UNSEALED_PREFIX)]
    return VerifyOut(
        ok=not problems,
        accounts=report.accounts,
        transfers=report.transfers,
        entries=report.entries,
        sealed=report.sealed,
        unsealed=report.transfers - report.sealed,
        total_balance=report.total_balance,
        problems=problems,
    )
