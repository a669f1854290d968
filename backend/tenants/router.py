from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import AdminWriter, CurrentPrincipal
from backend.core.errors import Forbidden, Unauthorized, problem_responses
from backend.core.routing import TransactionalRoute, get_session
from backend.tenants import service
from backend.tenants.errors import TenantNotFound
from backend.tenants.schemas import TenantOut, TenantUpdate

router = APIRouter(route_class=TransactionalRoute, tags=["tenants"])

Session = Annotated[AsyncSession, Depends(get_session)]


@router.get("/tenant", response_model=TenantOut, responses=problem_responses(Unauthorized, TenantNotFound))
async def get_own_tenant(principal: CurrentPrincipal, session: Session) -> TenantOut:
    """The caller's municipality and its scheme settings."""
    tenant = await service.get_tenant(session, tenant_id=principal.tenant_id)
    return TenantOut.model_validate(tenant, from_attributes=True)


@router.patch("/tenant", response_model=TenantOut, responses=problem_responses(Unauthorized, Forbidden))
async def update_own_tenant(body: TenantUpdate, principal: AdminWriter, session: Session) -> TenantOut:
    """Change scheme settings. Past transfers are never touched by a settings change."""
    tenant = await service.update_tenant(
        session, tenant_id=principal.tenant_id, changes=body.model_dump(exclude_unset=True, exclude_none=True)
    )
    return TenantOut.model_validate(tenant, from_attributes=True)
