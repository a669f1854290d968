from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import AdminWriter, CurrentPrincipal
from backend.auth.errors import MerchantSuspended
from backend.core.errors import Forbidden, Unauthorized, problem_responses
from backend.core.routing import TransactionalRoute, get_session
from backend.tenants import service
from backend.tenants.errors import TenantNotFound
from backend.tenants.schemas import RULES_DESCRIPTION, TenantOut, TenantUpdate

router = APIRouter(route_class=TransactionalRoute, tags=["tenants"])

Session = Annotated[AsyncSession, Depends(get_session)]


@router.get("/tenant", response_model=TenantOut, responses=problem_responses(Unauthorized, MerchantSuspended, TenantNotFound))
async def get_own_tenant(principal: CurrentPrincipal, session: Session) -> TenantOut:
    """The caller's municipality and its scheme settings."""
    tenant = await service.get_tenant(session, tenant_id=principal.tenant_id)
    return TenantOut.model_validate(tenant, from_attributes=True)


@router.patch(
    "/tenant",
    response_model=TenantOut,
    responses=problem_responses(Unauthorized, Forbidden),
    description="Change scheme settings (audited). " + RULES_DESCRIPTION,
)
async def update_own_tenant(body: TenantUpdate, principal: AdminWriter, session: Session) -> TenantOut:
    """Change scheme settings. Past transfers are never touched by a settings change."""
    from backend.audit.service import changed_fields, record_audit

    before = TenantOut.model_validate(
        await service.get_tenant(session, tenant_id=principal.tenant_id), from_attributes=True
    ).model_dump()
    changes = body.model_dump(exclude_unset=True)
    # null means "unchanged", except for the daily cap where it removes the cap.
    changes = {k: v for k, v in changes.items() if v is not None or k in NULLABLE_SETTINGS}
    if "category_points_per_euro" in changes:
        changes["category_points_per_euro"] = {str(k): v for k, v in changes["category_points_per_euro"].items()}
    tenant = await service.update_tenant(session, tenant_id=principal.tenant_id, changes=changes)
    out = TenantOut.model_validate(tenant, from_attributes=True)
    old, new = changed_fields(before, out.model_dump())
    if new:
        await record_audit(
            session, principal=principal, action="tenant.update", entity_type="tenant",
            entity_id=principal.tenant_id, before=old, after=new,
        )
    return out


NULLABLE_SETTINGS = frozenset({"daily_cap_points"})
