"""A shop's float as its owner sees it: the till's own low-float rule, plus any float debt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.payments.service import get_merchant, open_debt_points
from backend.till.context import till_for_merchant
from backend.till.reports import float_state  # the till's low-float rule, in one place


async def merchant_float(session: AsyncSession, *, tenant_id: int, merchant_id: int, now: datetime) -> dict[str, Any]:
    await get_merchant(session, tenant_id=tenant_id, merchant_id=merchant_id)
    till = await till_for_merchant(session, tenant_id=tenant_id, merchant_id=merchant_id, require_active=False)
    state = await float_state(session, till=till, now=now)
    return {
        "merchant_id": merchant_id,
        "balance": state.balance,
        "available": state.available,
        "credit_limit": state.credit_limit,
        "last_topup": state.last_topup,
        "low": state.low,
        "debt_points": await open_debt_points(session, tenant_id=tenant_id, merchant_id=merchant_id),
        "point_value_cents": till.tenant.point_value_cents,
    }
