"""GET /api/v1/merchants/{merchant_id}/insight: the shop's owner, admins and auditors."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import CurrentPrincipal
from backend.auth.models import Role
from backend.core.errors import Forbidden, Unauthorized, problem_responses
from backend.core.ids import IdPath
from backend.core.routing import TransactionalRoute, get_session
from backend.merchants.models import Merchant
from backend.reports.errors import InvalidPeriod, ReportMerchantNotFound
from backend.reports.insight import insight
from backend.reports.router import MAX_DAYS, csv_response
from backend.reports.schemas import Period
from backend.reports.scope import Scope, default_period, k_for

router = APIRouter(tags=["reports"], route_class=TransactionalRoute)


class InsightResponse(BaseModel):
    merchant: dict[str, Any]
    period: Period
    k: int
    columns: list[str]
    rows: list[dict[str, Any]]
    also_shop_columns: list[str]
    also_shop: list[dict[str, Any]]
    notes: list[str]
    peer_shops: int


@router.get("/merchants/{merchant_id}/insight", response_model=InsightResponse,
            responses=problem_responses(Unauthorized, Forbidden, ReportMerchantNotFound, InvalidPeriod),
            summary="A shop's own figures next to the town average of its category")
async def merchant_insight(
    merchant_id: IdPath, principal: CurrentPrincipal, session: Annotated[AsyncSession, Depends(get_session)],
    from_: Annotated[date | None, Query(alias="from")] = None, to: date | None = None,
    format: Literal["json", "csv"] = "json",  # noqa: A002
    table: Literal["figures", "also-shop"] = "figures",
) -> Any:
    merchant = await session.get(Merchant, merchant_id)
    if merchant is None or merchant.tenant_id != principal.tenant_id:
        raise ReportMerchantNotFound(f"Shop {merchant_id} does not exist in this municipality.")
    own_shop = principal.role == Role.MERCHANT_OWNER and principal.merchant_id == merchant_id
    if not (own_shop or principal.role in (Role.MUNICIPALITY_ADMIN, Role.AUDITOR)) or principal.is_pos_key:
        raise Forbidden("Only the shop's owner and the municipality see a shop's figures.")
    start, end = default_period()
    start, end = from_ or start, to or end
    if end < start or (end - start).days + 1 > MAX_DAYS:
        raise InvalidPeriod(f"'from' must come before 'to', at most {MAX_DAYS} days apart.")
    scope = Scope(principal.tenant_id, start, end, merchant_id=merchant_id)
    k = await k_for(session, principal.tenant_id)
    figures, also = await insight(session, scope, merchant, k=k)
    if format == "csv":
        return csv_response(figures if table == "figures" else also, scope)
    return InsightResponse(
        merchant={"id": merchant.id, "name": merchant.name, "category": merchant.category, "village": merchant.village},
        period=Period(from_=start, to=end), k=k, columns=figures.columns, rows=figures.rows,
        also_shop_columns=also.columns, also_shop=also.rows, notes=figures.notes + also.notes,
        peer_shops=figures.extra["peer_shops"])
