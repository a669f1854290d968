"""Closing a settlement period: every transfer once, frozen per merchant and per town.

A period takes every ledger transfer created before its end that no earlier period took
(so the first period also takes everything before it, and a transfer that commits after a
close lands in the next one). Merchant floats and amounts owed are computed from the
accounts the transfers touch, so a statement's closing figures equal the ledger's
balances at the cutoff; the figures a shop owner reads (issued, bonus, redeemed,
reversals) come from the transfer kinds.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.types import utcnow
from backend.ledger.models import Account, AccountType, Transfer
from backend.merchants.models import Merchant
from backend.settlement.documents import render_csv, render_pdf
from backend.settlement.errors import InvalidPeriod, PeriodNotFound, PeriodNotOver, PeriodOutOfOrder
from backend.settlement.models import SettlementLine, SettlementPeriod, SettlementStatement
from backend.tenants.models import Tenant

# Transfer kind -> statement figure; the kinds a merchant's statement is about.
FIGURE_OF_KIND = {
    "earn": "issued",
    "bonus": "bonus",
    "redeem": "redeemed",
    "payout": "paid_out",
    "topup": "topup",
    "float_clawback": "clawback",
}
POSITION_OF_TYPE = {
    AccountType.SHOPPER_WALLET: "wallets",
    AccountType.MERCHANT_FLOAT: "floats",
    AccountType.MERCHANT_REDEEMED: "owed_to_merchants",
    AccountType.CAMPAIGN_BUDGET: "campaign_budgets",
    AccountType.FUNDING: "funding",
    AccountType.PAYOUTS: "payouts",
    AccountType.BREAKAGE: "breakage",
}
BATCH = 5000
line_table = SettlementLine.__table__
transfer_table = Transfer.__table__


def month_bounds(tenant: Tenant, year: int, month: int) -> tuple[datetime, datetime]:
    if not (2000 <= year <= 2200 and 1 <= month <= 12):
        raise InvalidPeriod("A period is a month: year 2000-2200, month 1-12.")
    zone = ZoneInfo(tenant.timezone)
    start = datetime.combine(datetime(year, month, 1).date(), time(), zone)
    following = (year + 1, 1) if month == 12 else (year, month + 1)
    end = datetime.combine(datetime(*following, 1).date(), time(), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


async def get_period(session: AsyncSession, *, tenant_id: int, period_id: int) -> SettlementPeriod:
    period = await session.get(SettlementPeriod, period_id)
    if period is None or period.tenant_id != tenant_id:
        raise PeriodNotFound(f"Settlement period {period_id} does not exist in this municipality.")
    return period


async def list_periods(session: AsyncSession, *, tenant_id: int) -> list[SettlementPeriod]:
    query = select(SettlementPeriod).where(SettlementPeriod.tenant_id == tenant_id)
    return list((await session.execute(query.order_by(SettlementPeriod.year.desc(), SettlementPeriod.month.desc()))).scalars())


async def _find(session: AsyncSession, *, tenant_id: int, year: int, month: int) -> SettlementPeriod | None:
    return (
        await session.execute(
            select(SettlementPeriod).where(
                SettlementPeriod.tenant_id == tenant_id, SettlementPeriod.year == year, SettlementPeriod.month == month
            )
        )
    ).scalar_one_or_none()


async def close_period(
    session: AsyncSession, *, tenant_id: int, year: int, month: int, user_id: int | None, now: datetime | None = None
) -> tuple[SettlementPeriod, bool]:
    """Close a month once; returns the period and whether this call closed it."""
    now = now or utcnow()
    tenant = await session.get(Tenant, tenant_id)
    assert tenant is not None
    starts_at, ends_at = month_bounds(tenant, year, month)
    existing = await _find(session, tenant_id=tenant_id, year=year, month=month)
    if existing is not None:
        return existing, False
    if ends_at > now:
        raise PeriodNotOver(f"{year}-{month:02d} ends at {ends_at.isoformat()}; close it after that.")
    latest = (
        await session.execute(
            select(SettlementPeriod)
            .where(SettlementPeriod.tenant_id == tenant_id)
            .order_by(SettlementPeriod.year.desc(), SettlementPeriod.month.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if latest is not None and (year, month) != _next_month(latest.year, latest.month):
        expected = _next_month(latest.year, latest.month)
        raise PeriodOutOfOrder(
            f"The last closed period is {latest.year}-{latest.month:02d}; the next to close is "
            f"{expected[0]}-{expected[1]:02d}.",
            next_year=expected[0],
            next_month=expected[1],
        )
    period = SettlementPeriod(
        tenant_id=tenant_id, year=year, month=month, starts_at=starts_at, ends_at=ends_at,
        point_value_cents=tenant.point_value_cents, closed_by_user_id=user_id, closed_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(period)
            await session.flush()
    except IntegrityError:
        # Closed concurrently by another request: its result is the period's result.
        existing = await _find(session, tenant_id=tenant_id, year=year, month=month)
        if existing is None:
            raise
        return existing, False
    await _freeze(session, tenant=tenant, period=period, previous=latest)
    return period, True


async def _freeze(
    session: AsyncSession, *, tenant: Tenant, period: SettlementPeriod, previous: SettlementPeriod | None
) -> None:
    tenant_id: int = tenant.id  # type: ignore[assignment]
    accounts = {
        row.id: (AccountType(row.type), row.merchant_id)
        for row in (
            await session.execute(select(Account.id, Account.type, Account.merchant_id).where(Account.tenant_id == tenant_id))
        ).all()
    }
    merchants = {
        m.id: m for m in (await session.execute(select(Merchant).where(Merchant.tenant_id == tenant_id))).scalars()
    }
    positions: dict[str, int] = defaultdict(int)
    if previous is not None:
        positions.update(previous.totals.get("positions", {}))
    movements: dict[str, int] = defaultdict(int)
    float_delta: dict[int, int] = defaultdict(int)
    owed_delta: dict[int, int] = defaultdict(int)
    lines_by_merchant: dict[int, list[dict[str, Any]]] = defaultdict(list)
    line_count = 0
    last_id = 0
    while True:
        rows = (
            await session.execute(
                select(transfer_table)
                .where(
                    transfer_table.c.tenant_id == tenant_id,
                    transfer_table.c.created_at < period.ends_at,
                    transfer_table.c.id > last_id,
                    ~exists().where(
                        line_table.c.tenant_id == tenant_id, line_table.c.transfer_id == transfer_table.c.id
                    ),
                )
                .order_by(transfer_table.c.id)
                .limit(BATCH)
            )
        ).all()
        if not rows:
            break
        last_id = rows[-1].id
        originals = await _originals(session, tenant_id=tenant_id, rows=rows)
        lines = []
        for row in rows:
            debit_type, debit_merchant = accounts[row.debit_account_id]
            credit_type, credit_merchant = accounts[row.credit_account_id]
            positions[POSITION_OF_TYPE[debit_type]] -= row.amount
            positions[POSITION_OF_TYPE[credit_type]] += row.amount
            for account_type, merchant_id, sign in (
                (debit_type, debit_merchant, -1), (credit_type, credit_merchant, 1)
            ):
                if account_type == AccountType.MERCHANT_FLOAT:
                    float_delta[merchant_id] += sign * row.amount
                elif account_type == AccountType.MERCHANT_REDEEMED:
                    owed_delta[merchant_id] += sign * row.amount
            line = _classify(row, originals, merchants, debit_merchant or credit_merchant)
            line.update(tenant_id=tenant_id, period_id=period.id, transfer_id=row.id, occurred_at=row.created_at)
            movements[line["figure"] + ("_reversed" if line["reversal"] else "")] += abs(line["points"])
            lines.append(line)
            if line["merchant_id"] is not None:
                lines_by_merchant[line["merchant_id"]].append(line)
        await session.execute(insert(line_table), lines)
        line_count += len(lines)
    period.line_count = line_count
    positions_out = {name: positions.get(name, 0) for name in POSITION_OF_TYPE.values()}
    period.totals = {
        "movements": dict(sorted(movements.items())),
        "positions": positions_out,
        "liability_points": positions_out["wallets"],
        "liability_cents": positions_out["wallets"] * tenant.point_value_cents,
    }
    session.add(period)
    await _statements(
        session, tenant=tenant, period=period, merchants=merchants, lines_by_merchant=lines_by_merchant,
        float_delta=float_delta, owed_delta=owed_delta,
    )
    await session.flush()


async def _originals(session: AsyncSession, *, tenant_id: int, rows: list[Any]) -> dict[int, Any]:
    wanted = {row.reverses_transfer_id for row in rows if row.reverses_transfer_id is not None}
    if not wanted:
        return {}
    result = await session.execute(
        select(transfer_table.c.id, transfer_table.c.kind, transfer_table.c.meta).where(
            transfer_table.c.tenant_id == tenant_id, transfer_table.c.id.in_(wanted)
        )
    )
    return {row.id: row for row in result.all()}


def _merchant_in_meta(meta: dict[str, Any] | None, merchants: dict[int, Merchant]) -> int | None:
    try:
        merchant_id = int((meta or {}).get("merchant_id"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return merchant_id if merchant_id in merchants else None


def _classify(row: Any, originals: dict[int, Any], merchants: dict[int, Merchant], account_merchant: int | None) -> dict[str, Any]:
    meta = row.meta or {}
    reversal = row.reverses_transfer_id is not None
    kind = row.kind
    attributed_meta = meta
    if reversal:
        original = originals.get(row.reverses_transfer_id)
        kind = original.kind if original is not None else meta.get("reversed_kind", row.kind)
        attributed_meta = (original.meta if original is not None else None) or meta
    figure = FIGURE_OF_KIND.get(kind, kind)
    merchant_id = account_merchant
    if merchant_id is None and figure == "bonus":
        merchant_id = _merchant_in_meta(attributed_meta, merchants)
    purchase = (attributed_meta or {}).get("purchase_cents") if figure == "issued" else None
    return {
        "merchant_id": merchant_id,
        "kind": row.kind,
        "figure": figure,
        "reversal": reversal,
        "points": -row.amount if reversal else row.amount,
        "purchase_cents": int(purchase) if isinstance(purchase, int) else None,
    }


async def _statements(
    session: AsyncSession,
    *,
    tenant: Tenant,
    period: SettlementPeriod,
    merchants: dict[int, Merchant],
    lines_by_merchant: dict[int, list[dict[str, Any]]],
    float_delta: dict[int, int],
    owed_delta: dict[int, int],
) -> None:
    latest: dict[int, SettlementStatement] = {}
    for statement in (
        await session.execute(
            select(SettlementStatement)
            .where(SettlementStatement.tenant_id == tenant.id, SettlementStatement.period_id != period.id)
            .order_by(SettlementStatement.id)
        )
    ).scalars():
        latest[statement.merchant_id] = statement
    involved = set(lines_by_merchant) | set(float_delta) | set(owed_delta) | {
        merchant_id for merchant_id, s in latest.items() if s.float_closing or s.owed_closing
    }
    pv = tenant.point_value_cents
    for merchant_id in sorted(m for m in involved if m is not None):
        merchant = merchants[merchant_id]
        lines = lines_by_merchant.get(merchant_id, [])
        sums: dict[str, int] = defaultdict(int)
        for line in lines:
            sums[line["figure"] + ("_reversed" if line["reversal"] else "")] += abs(line["points"])
        previous = latest.get(merchant_id)
        float_opening = previous.float_closing if previous else 0
        owed_opening = previous.owed_closing if previous else 0
        owed_closing = owed_opening + owed_delta.get(merchant_id, 0)
        statement = SettlementStatement(
            tenant_id=tenant.id,  # type: ignore[arg-type]
            period_id=period.id,  # type: ignore[arg-type]
            merchant_id=merchant_id,
            merchant_name=merchant.name,
            language=merchant.language if merchant.language in ("nl", "fr", "en") else "nl",
            point_value_cents=pv,
            points_issued=sums["issued"],
            issued_reversed=sums["issued_reversed"],
            bonus_points=sums["bonus"],
            bonus_reversed=sums["bonus_reversed"],
            points_redeemed=sums["redeemed"],
            redeemed_reversed=sums["redeemed_reversed"],
            points_paid_out=sums["paid_out"] - sums["paid_out_reversed"],
            float_topups=sums["topup"] - sums["topup_reversed"],
            float_clawbacks=sums["clawback"] - sums["clawback_reversed"],
            float_opening=float_opening,
            float_closing=float_opening + float_delta.get(merchant_id, 0),
            owed_opening=owed_opening,
            owed_closing=owed_closing,
            net_amount_cents=(sums["redeemed"] - sums["redeemed_reversed"]) * pv,
            owed_closing_cents=owed_closing * pv,
            line_count=len(lines),
            csv="",
            pdf=b"",
            created_at=period.closed_at,
        )
        ordered = sorted(lines, key=lambda line: (line["occurred_at"], line["transfer_id"]))
        statement.csv = render_csv(statement=statement, period=period, lines=ordered)
        statement.pdf = render_pdf(statement=statement, period=period, lines=ordered, town=tenant.name)
        session.add(statement)


async def list_statements(
    session: AsyncSession, *, tenant_id: int, period_id: int, merchant_id: int | None
) -> list[SettlementStatement]:
    await get_period(session, tenant_id=tenant_id, period_id=period_id)
    query = select(SettlementStatement).where(
        SettlementStatement.tenant_id == tenant_id, SettlementStatement.period_id == period_id
    )
    if merchant_id is not None:
        query = query.where(SettlementStatement.merchant_id == merchant_id)
    return list((await session.execute(query.order_by(SettlementStatement.merchant_id))).scalars())
