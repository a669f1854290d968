"""The till a request works at: the caller's shop, its two ledger accounts and who acts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import Principal
from backend.ledger.service import find_account
from backend.merchants.models import Merchant, MerchantStatus
from backend.tenants.models import Tenant
from backend.till.errors import MerchantSuspended, NotTillStaff


@dataclass(frozen=True, slots=True)
class Till:
    tenant: Tenant
    merchant: Merchant
    float_account_id: int
    redeemed_account_id: int
    user_id: int | None = None
    pos_key_id: int | None = None

    @property
    def merchant_id(self) -> int:
        return self.merchant.id  # type: ignore[return-value]

    def actor_meta(self) -> dict[str, Any]:
        if self.pos_key_id is not None:
            return {"pos_key_id": self.pos_key_id}
        return {"cashier_user_id": self.user_id}

    def key(self, operation: str, idempotency_key: str) -> str:
        """Ledger keys are unique per tenant; scope the device's key to this shop and operation."""
        return f"till:{operation}:{self.merchant_id}:{idempotency_key}"


async def till_for_merchant(
    session: AsyncSession,
    *,
    tenant_id: int,
    merchant_id: int,
    user_id: int | None = None,
    pos_key_id: int | None = None,
    require_active: bool = True,
) -> Till:
    tenant = await session.get(Tenant, tenant_id)
    merchant = await session.get(Merchant, merchant_id)
    if tenant is None or merchant is None or merchant.tenant_id != tenant_id:
        raise NotTillStaff("Your account is not linked to a shop of this municipality.")
    if require_active and merchant.status != MerchantStatus.ACTIVE:
        raise MerchantSuspended(
            f"{merchant.name} is {merchant.status}: it cannot issue or accept points until the "
            "municipality activates it.",
            merchant_status=merchant.status,
        )
    float_account = await find_account(
        session, tenant_id=tenant_id, code=f"merchant:{merchant_id}:float"
    )
    redeemed = await find_account(
        session, tenant_id=tenant_id, code=f"merchant:{merchant_id}:redeemed"
    )
    return Till(
        tenant=tenant,
        merchant=merchant,
        float_account_id=float_account.id,  # type: ignore[arg-type]
        redeemed_account_id=redeemed.id,  # type: ignore[arg-type]
        user_id=user_id,
        pos_key_id=pos_key_id,
    )


async def open_till(
    session: AsyncSession, *, principal: Principal, require_active: bool = True
) -> Till:
    if principal.merchant_id is None:
        raise NotTillStaff()
    return await till_for_merchant(
        session,
        tenant_id=principal.tenant_id,
        merchant_id=principal.merchant_id,
        user_id=principal.user_id,
        pos_key_id=principal.api_key_id,
        require_active=require_active,
    )
