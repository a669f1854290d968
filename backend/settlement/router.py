"""Settlement: close months, statements (JSON, CSV, PDF), payout runs with SEPA, liability."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import AdminReader, AdminWriter, OwnStatementsReader, Principal
from backend.auth.errors import MerchantSuspended, TokenExpired, TokenInvalid
from backend.auth.models import Role
from backend.core.errors import Forbidden, Unauthorized, problem_responses
from backend.core.ids import IdPath
from backend.core.routing import TransactionalRoute, get_session
from backend.settlement import payouts as payout_service
from backend.settlement import service
from backend.settlement.errors import (
    BankAccountMissing,
    InvalidBic,
    InvalidIban,
    InvalidPeriod,
    MerchantIbanInvalid,
    NothingToPay,
    PayoutExceedsOwed,
    PayoutRunNotFound,
    PeriodNotFound,
    PeriodNotOver,
    PeriodOutOfOrder,
    StatementNotFound,
)
from backend.settlement.iban import valid_bic, valid_iban
from backend.settlement.liability import liability
from backend.settlement.models import PayoutBatch, SettlementStatement
from backend.settlement.schemas import (
    BankAccountIn,
    BankAccountOut,
    ClosedPeriodOut,
    ClosePeriodIn,
    LiabilityOut,
    PayoutBatchOut,
    PayoutOut,
    PeriodOut,
    StatementOut,
)
from backend.tenants.models import Tenant

router = APIRouter(route_class=TransactionalRoute, prefix="/settlement", tags=["settlement"])

Session = Annotated[AsyncSession, Depends(get_session)]
AUTH = (Unauthorized, TokenInvalid, TokenExpired, Forbidden, MerchantSuspended)
READERS = {Role.MUNICIPALITY_ADMIN, Role.AUDITOR}


# The read routes below take OwnStatementsReader: the owner of a suspended shop still
# reads its statements (what it is owed and was paid); everything else refuses it.
def _own_merchant(principal: Principal) -> int | None:
    """None for the municipality (sees all); the owner's shop id; anybody else is refused."""
    if principal.role in READERS:
        return None
    if principal.role == Role.MERCHANT_OWNER and principal.merchant_id is not None:
        return principal.merchant_id
    raise Forbidden("Statements are for the municipality and the shop's owner.")


async def _closed(session: AsyncSession, *, tenant_id: int, period_id: int) -> ClosedPeriodOut:
    period = await service.get_period(session, tenant_id=tenant_id, period_id=period_id)
    statements = await service.list_statements(session, tenant_id=tenant_id, period_id=period_id, merchant_id=None)
    return ClosedPeriodOut(
        period=PeriodOut.model_validate(period),
        statements=[StatementOut.model_validate(s) for s in statements],
    )


@router.post(
    "/periods",
    response_model=ClosedPeriodOut,
    status_code=201,
    responses=problem_responses(*AUTH, InvalidPeriod, PeriodNotOver, PeriodOutOfOrder),
)
async def close_period(body: ClosePeriodIn, principal: AdminWriter, session: Session, response: Response) -> ClosedPeriodOut:
    """Close a month (final); closing it again answers 200 with the same statements."""
    period, created = await service.close_period(
        session, tenant_id=principal.tenant_id, year=body.year, month=body.month, user_id=principal.user_id
    )
    if not created:
        response.status_code = 200
    return await _closed(session, tenant_id=principal.tenant_id, period_id=period.id)  # type: ignore[arg-type]


@router.get("/periods", response_model=list[PeriodOut], responses=problem_responses(*AUTH))
async def list_periods(principal: OwnStatementsReader, session: Session) -> list[PeriodOut]:
    _own_merchant(principal)
    return [PeriodOut.model_validate(p) for p in await service.list_periods(session, tenant_id=principal.tenant_id)]


@router.get(
    "/periods/{period_id}/statements",
    response_model=list[StatementOut],
    responses=problem_responses(*AUTH, PeriodNotFound),
)
async def list_statements(period_id: IdPath, principal: OwnStatementsReader, session: Session) -> list[StatementOut]:
    """The municipality sees every shop's statement; an owner only its own."""
    merchant_id = _own_merchant(principal)
    statements = await service.list_statements(
        session, tenant_id=principal.tenant_id, period_id=period_id, merchant_id=merchant_id
    )
    return [StatementOut.model_validate(s) for s in statements]


async def _statement(session: AsyncSession, principal: Principal, statement_id: int) -> SettlementStatement:
    merchant_id = _own_merchant(principal)
    statement = await session.get(SettlementStatement, statement_id)
    if (
        statement is None
        or statement.tenant_id != principal.tenant_id
        or (merchant_id is not None and statement.merchant_id != merchant_id)
    ):
        raise StatementNotFound(f"Statement {statement_id} does not exist.")
    return statement


@router.get("/statements/{statement_id}.pdf", responses={200: {"content": {"application/pdf": {}}}, **problem_responses(*AUTH, StatementNotFound)})
async def statement_pdf(statement_id: IdPath, principal: OwnStatementsReader, session: Session) -> Response:
    statement = await _statement(session, principal, statement_id)
    name = f"kernpunt-statement-{statement.period_id}-{statement.merchant_id}.pdf"
    return Response(statement.pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/statements/{statement_id}.csv", responses={200: {"content": {"text/csv": {}}}, **problem_responses(*AUTH, StatementNotFound)})
async def statement_csv(statement_id: IdPath, principal: OwnStatementsReader, session: Session) -> Response:
    statement = await _statement(session, principal, statement_id)
    name = f"kernpunt-statement-{statement.period_id}-{statement.merchant_id}.csv"
    return Response(statement.csv.encode(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/statements/{statement_id}", response_model=StatementOut, responses=problem_responses(*AUTH, StatementNotFound))
async def get_statement(statement_id: IdPath, principal: OwnStatementsReader, session: Session) -> StatementOut:
    return StatementOut.model_validate(await _statement(session, principal, statement_id))


async def _batch_out(session: AsyncSession, batch: PayoutBatch) -> PayoutBatchOut:
    payouts = await payout_service.batch_payouts(session, batch=batch)
    return PayoutBatchOut(
        id=batch.id, period_id=batch.period_id, message_id=batch.message_id, status=batch.status,  # type: ignore[arg-type]
        payout_count=batch.payout_count, total_cents=batch.total_cents, created_at=batch.created_at,
        confirmed_at=batch.confirmed_at, payouts=[PayoutOut.model_validate(p) for p in payouts],
    )


@router.post(
    "/periods/{period_id}/payouts",
    response_model=PayoutBatchOut,
    status_code=201,
    responses=problem_responses(
        *AUTH, PeriodNotFound, PeriodOutOfOrder, BankAccountMissing, MerchantIbanInvalid, NothingToPay
    ),
)
async def run_payouts(period_id: IdPath, principal: AdminWriter, session: Session, response: Response) -> PayoutBatchOut:
    """Create the period's payouts and its SEPA file (once; again answers 200 with the same run)."""
    batch, created = await payout_service.run_payouts(
        session, tenant_id=principal.tenant_id, period_id=period_id, user_id=principal.user_id
    )
    if not created:
        response.status_code = 200
    return await _batch_out(session, batch)


@router.get(
    "/periods/{period_id}/payouts",
    response_model=PayoutBatchOut,
    responses=problem_responses(*AUTH, PeriodNotFound, PayoutRunNotFound),
)
async def get_payouts(period_id: IdPath, principal: AdminReader, session: Session) -> PayoutBatchOut:
    batch = await payout_service.get_batch(session, tenant_id=principal.tenant_id, period_id=period_id)
    return await _batch_out(session, batch)


@router.get(
    "/periods/{period_id}/sepa.xml",
    responses={200: {"content": {"application/xml": {}}}, **problem_responses(*AUTH, PeriodNotFound, PayoutRunNotFound)},
)
async def sepa_file(period_id: IdPath, principal: AdminReader, session: Session) -> Response:
    batch = await payout_service.get_batch(session, tenant_id=principal.tenant_id, period_id=period_id)
    return Response(batch.xml.encode(), media_type="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{batch.message_id}.xml"'})


@router.post(
    "/periods/{period_id}/payouts/confirm",
    response_model=PayoutBatchOut,
    responses=problem_responses(*AUTH, PeriodNotFound, PayoutRunNotFound, PayoutExceedsOwed),
)
async def confirm_payouts(period_id: IdPath, principal: AdminWriter, session: Session) -> PayoutBatchOut:
    """The bank executed the file: post the ledger payouts and mark them paid (idempotent)."""
    batch = await payout_service.confirm_payouts(
        session, tenant_id=principal.tenant_id, period_id=period_id, user_id=principal.user_id
    )
    return await _batch_out(session, batch)


@router.get("/liability", response_model=LiabilityOut, responses=problem_responses(*AUTH))
async def get_liability(principal: AdminReader, session: Session) -> LiabilityOut:
    tenant = await session.get(Tenant, principal.tenant_id)
    assert tenant is not None
    return LiabilityOut(**await liability(session, tenant=tenant))


@router.get("/bank-account", response_model=BankAccountOut, responses=problem_responses(*AUTH))
async def get_bank_account(principal: AdminReader, session: Session) -> BankAccountOut:
    tenant = await session.get(Tenant, principal.tenant_id)
    assert tenant is not None
    return BankAccountOut(name=tenant.name, iban=tenant.iban, bic=tenant.bic)


@router.put("/bank-account", response_model=BankAccountOut, responses=problem_responses(*AUTH, InvalidIban, InvalidBic))
async def set_bank_account(body: BankAccountIn, principal: AdminWriter, session: Session) -> BankAccountOut:
    """The municipality's account that pays the merchants (the SEPA file's debtor)."""
    tenant = await session.get(Tenant, principal.tenant_id)
    assert tenant is not None
    tenant.iban = valid_iban(body.iban)
    tenant.bic = valid_bic(body.bic) if body.bic else None
    session.add(tenant)
    await session.flush()
    return BankAccountOut(name=tenant.name, iban=tenant.iban, bic=tenant.bic)
