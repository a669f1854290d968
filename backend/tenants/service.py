"""Municipalities: creating one opens its ledger accounts."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.ledger.accounts import open_tenant_accounts
from backend.tenants.errors import TenantExists, TenantNotFound
from backend.tenants.models import Tenant

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")


async def create_tenant(
    session: AsyncSession, *, slug: str, name: str, settings: Settings | None = None
) -> Tenant:
    if not SLUG_PATTERN.match(slug):
        raise TenantNotFound.invalid_slug(slug)
    defaults = settings or Settings()
    tenant = Tenant(
        slug=slug,
        name=name,
        point_value_cents=defaults.point_value_cents,
        points_per_euro=defaults.points_per_euro,
        hold_timeout_seconds=defaults.hold_timeout_seconds,
        points_expiry_days=defaults.points_expiry_days,
    )
    try:
        async with session.begin_nested():
            session.add(tenant)
            await session.flush()
    except IntegrityError as exc:
        raise TenantExists(f"A municipality with slug {slug!r} already exists.") from exc
    await open_tenant_accounts(session, tenant_id=tenant.id)
    return tenant


async def get_tenant(session: AsyncSession, *, tenant_id: int) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise TenantNotFound()
    return tenant


async def get_tenant_by_slug(session: AsyncSession, *, slug: str) -> Tenant:
    tenant = (await session.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one_or_none()
    if tenant is None:
        raise TenantNotFound(f"No municipality {slug!r}.")
    return tenant


async def update_tenant(session: AsyncSession, *, tenant_id: int, changes: dict[str, object]) -> Tenant:
    tenant = await get_tenant(session, tenant_id=tenant_id)
    for name, value in changes.items():
        setattr(tenant, name, value)
    session.add(tenant)
    await session.flush()
    return tenant


async def count_tenants(session: AsyncSession) -> int:
    return len((await session.execute(select(Tenant.id))).all())
