"""The municipality dashboard API: /api/v1/reports/* (admin and auditor of the tenant).

Every report answers JSON (``ReportResponse``) or, with ``?format=csv``, the same rows as
CSV. See docs/reports-api.md for every report's columns and definitions.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import AdminReader, AdminWriter
from backend.core.errors import Forbidden, Unauthorized, problem_responses
from backend.core.ids import IdPath, IdQuery
from backend.core.routing import TransactionalRoute, get_session
from backend.merchants.models import Merchant
from backend.reports import service
from backend.reports.errors import CampaignNotFound, InvalidPeriod, ReportMerchantNotFound
from backend.reports.models import ReportSetting
from backend.reports.rollup import check
from backend.reports.schemas import Campaign, Period, ReportResponse, ReportSettings, RollupCheck
from backend.reports.scope import Scope, default_period, k_for, with_shop_ids

router = APIRouter(prefix="/reports", tags=["reports"], route_class=TransactionalRoute)
Session = Annotated[AsyncSession, Depends(get_session)]
AUTH = (Unauthorized, Forbidden)
MAX_DAYS = 731
Format = Annotated[Literal["json", "csv"], Query(description="csv: the rows as a CSV download")]


async def scope_of(
    principal: AdminReader,
    session: Session,
    from_: Annotated[date | None, Query(alias="from", description="First Brussels day (default: 28 days ago)")] = None,
    to: Annotated[date | None, Query(description="Last Brussels day, inclusive (default: yesterday)")] = None,
    category: Annotated[str | None, Query(max_length=32, description="A shop category, or run / fun")] = None,
    village: Annotated[str | None, Query(max_length=100, description="The shop's village")] = None,
    merchant_id: IdQuery = None,
) -> Scope:
    start, end = default_period()
    start, end = from_ or start, to or end
    if end < start:
        raise InvalidPeriod("'from' must not come after 'to'.")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidPeriod(f"A period spans at most {MAX_DAYS} days.")
    if merchant_id is not None:
        found = (await session.execute(select(Merchant.id).where(
            Merchant.id == merchant_id, Merchant.tenant_id == principal.tenant_id))).scalar()
        if found is None:
            raise ReportMerchantNotFound(f"Shop {merchant_id} does not exist in this municipality.")
    return await with_shop_ids(session, Scope(principal.tenant_id, start, end, category or None, village or None,
                                              merchant_id))


ReportScope = Annotated[Scope, Depends(scope_of)]
ERRORS = problem_responses(*AUTH, InvalidPeriod, ReportMerchantNotFound)


def render(table: service.Table, scope: Scope, k: int, fmt: str) -> Any:
    if fmt == "csv":
        return csv_response(table, scope)
    return ReportResponse(report=table.report, period=Period(from_=scope.start, to=scope.end), filters=scope.filters(),
                          k=k, columns=table.columns, rows=table.rows, notes=table.notes, extra=table.extra)


def csv_response(table: service.Table, scope: Scope) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow(["" if row.get(c) is None else ("true" if row.get(c) is True else
                                                          "false" if row.get(c) is False else row.get(c))
                         for c in table.columns])
    name = f"kernpunt-{table.report}-{scope.start.isoformat()}-{scope.end.isoformat()}.csv"
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _simple(name: str, compute: Any, summary: str) -> None:
    async def endpoint(scope: ReportScope, session: Session, format: Format = "json") -> Any:  # noqa: A002
        k = await k_for(session, scope.tenant_id)
        return render(await compute(session, scope, k=k), scope, k, format)

    endpoint.__name__ = name.replace("-", "_")
    router.add_api_route(f"/{name}", endpoint, methods=["GET"], response_model=ReportResponse, summary=summary,
                         responses=ERRORS)


_simple("summary", service.summary, "Headline figures for the period and the previous one")
_simple("spend-per-week", service.spend_per_week, "Local spend registered per week")
_simple("fun-run", service.fun_run, "Fun vs run shopping per week")
_simple("villages", service.villages, "Spend by the shopper's home village and the shop's village")
_simple("heatmap", service.heatmap, "Purchases per weekday and hour (Brussels time)")
_simple("circulation", service.circulation, "Points earned in one category and spent in another")
_simple("retention", service.retention, "Shoppers active per month, by sign-up month")


@router.get("/top-merchants", response_model=ReportResponse, responses=ERRORS, summary="Shops by local spend")
async def top_merchants(
    scope: ReportScope, session: Session, format: Format = "json",  # noqa: A002
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> Any:
    k = await k_for(session, scope.tenant_id)
    return render(await service.top_merchants(session, scope, k=k, limit=limit), scope, k, format)


@router.get("/campaigns", response_model=list[Campaign], responses=problem_responses(*AUTH))
async def campaigns(principal: AdminReader, session: Session) -> Any:
    return await service.campaigns(session, tenant_id=principal.tenant_id)


@router.get("/campaigns/{account_id}/uplift", response_model=ReportResponse,
            responses=problem_responses(*AUTH, CampaignNotFound, InvalidPeriod), summary="A campaign against its baseline")
async def campaign_uplift(
    account_id: IdPath, principal: AdminReader, session: Session, format: Format = "json",  # noqa: A002
    category: Annotated[str | None, Query(max_length=32)] = None,
    village: Annotated[str | None, Query(max_length=100)] = None,
    baseline_from: date | None = None, baseline_to: date | None = None,
) -> Any:
    found = [c for c in await service.campaigns(session, tenant_id=principal.tenant_id) if c["account_id"] == account_id]
    if not found or found[0]["start"] is None:
        raise CampaignNotFound(f"Campaign budget {account_id} has no bonuses in this municipality.")
    campaign = found[0]
    scope = await with_shop_ids(session, Scope(principal.tenant_id, date.fromisoformat(campaign["start"]),
                                               date.fromisoformat(campaign["end"]), category, village))
    baseline = None
    if baseline_from or baseline_to:
        if not (baseline_from and baseline_to) or baseline_to < baseline_from:
            raise InvalidPeriod("Give both baseline_from and baseline_to, in order.")
        baseline = (baseline_from, baseline_to)
    k = await k_for(session, principal.tenant_id)
    table = await service.uplift(session, scope, k=k, baseline=baseline)
    table.extra["campaign"] = campaign
    return render(table, scope, k, format)


@router.get("/settings", response_model=ReportSettings, responses=problem_responses(*AUTH))
async def get_settings(principal: AdminReader, session: Session) -> ReportSettings:
    return ReportSettings(k_anonymity=await k_for(session, principal.tenant_id))


@router.put("/settings", response_model=ReportSettings, responses=problem_responses(*AUTH))
async def put_settings(body: ReportSettings, principal: AdminWriter, session: Session) -> ReportSettings:
    setting = await session.get(ReportSetting, principal.tenant_id)
    if setting is None:
        setting = ReportSetting(tenant_id=principal.tenant_id)
    setting.k_anonymity = body.k_anonymity
    session.add(setting)
    await session.flush()
    return body


@router.get("/check", response_model=RollupCheck, responses=problem_responses(*AUTH),
            summary="Compare the rollup with a full recomputation from the ledger (slow on a large town)")
async def rollup_check(principal: AdminReader, session: Session) -> RollupCheck:
    report = await check(session, tenant_id=principal.tenant_id)
    return RollupCheck(ok=report.ok, rows=report.rows, differences=report.differences)



