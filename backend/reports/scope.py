"""What a report is about: a tenant, a period of Brussels days, and optional shop filters."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, case, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.merchants.models import FUN_SHOPPING, RUN_SHOPPING, Merchant
from backend.reports.models import ReportActivity, ReportSetting
from backend.reports.rollup import BRUSSELS

a = ReportActivity.__table__
m = Merchant.__table__
DEFAULT_K = 5
DEFAULT_DAYS = 28
SHOPPING_KINDS = {"run": RUN_SHOPPING, "fun": FUN_SHOPPING}


@dataclass(frozen=True)
class Scope:
    tenant_id: int
    start: date
    end: date  # inclusive
    category: str | None = None  # a shop category, or "run" / "fun"
    village: str | None = None  # the shop's village
    merchant_id: int | None = None
    # The ids of the shops a category or village filter selects (``with_shop_ids``): the
    # rollup's (tenant, shop, kind, day) index then serves the filter, instead of a join
    # to the shops over every purchase of the period.
    shop_ids: tuple[int, ...] | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def filtered(self) -> bool:
        return bool(self.category or self.village or self.merchant_id)

    def shifted(self, start: date, end: date) -> Scope:
        return replace(self, start=start, end=end)

    def previous(self) -> Scope:
        return self.shifted(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def filters(self) -> dict[str, Any]:
        return {"category": self.category, "village": self.village, "merchant_id": self.merchant_id}


def default_period(today: date | None = None) -> tuple[date, date]:
    from backend.core.types import utcnow

    today = today or utcnow().astimezone(BRUSSELS).date()
    return today - timedelta(days=DEFAULT_DAYS), today - timedelta(days=1)


def shopping_kind_expr() -> Any:
    return case(
        (m.c.category.in_([str(c) for c in RUN_SHOPPING]), "run"),
        (m.c.category.in_([str(c) for c in FUN_SHOPPING]), "fun"),
        else_=m.c.category,
    )


async def with_shop_ids(session: AsyncSession, scope: Scope) -> Scope:
    if not (scope.category or scope.village) or scope.shop_ids is not None:
        return scope
    query = select(m.c.id).where(m.c.tenant_id == scope.tenant_id, *_shop_clauses(scope)).order_by(m.c.id)
    return replace(scope, shop_ids=tuple((await session.execute(query)).scalars()))


def _shop_clauses(scope: Scope) -> list[Any]:
    clauses = []
    if scope.category:
        if scope.category in SHOPPING_KINDS:
            clauses.append(m.c.category.in_([str(c) for c in SHOPPING_KINDS[scope.category]]))
        else:
            clauses.append(m.c.category == scope.category)
    if scope.village:
        clauses.append(m.c.village == scope.village)
    return clauses


def shop_filters(scope: Scope) -> list[Any]:
    clauses = [a.c.merchant_id.in_(scope.shop_ids)] if scope.shop_ids is not None else _shop_clauses(scope)
    if scope.merchant_id:
        clauses.append(a.c.merchant_id == scope.merchant_id)
    return clauses


def activity(scope: Scope, kinds: tuple[str, ...], *columns: Any, start: date | None = None,
             join_merchant: bool | None = None) -> Any:
    """SELECT ``columns`` FROM the rollup (joined to the shop when filters need it)."""
    needs_shop_columns = bool(scope.category or scope.village) and scope.shop_ids is None
    need_merchant = needs_shop_columns if join_merchant is None else join_merchant
    source = a.join(m, m.c.id == a.c.merchant_id) if need_merchant else a
    where = [
        a.c.tenant_id == scope.tenant_id,
        a.c.kind.in_(kinds) if len(kinds) > 1 else a.c.kind == kinds[0],
        a.c.day >= (start or scope.start),
        a.c.day <= scope.end,
        # A fully reversed purchase leaves a row of zeros: it made nobody active.
        a.c.points != 0,
        *shop_filters(scope),
    ]
    return select(*columns).select_from(source).where(and_(*where))


async def k_for(session: AsyncSession, tenant_id: int) -> int:
    k = (await session.execute(select(ReportSetting.k_anonymity).where(ReportSetting.tenant_id == tenant_id))).scalar()
    return k or DEFAULT_K
