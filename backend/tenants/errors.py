from __future__ import annotations

from backend.core.errors import Conflict, DomainError, NotFound


class TenantNotFound(NotFound):
    code = "tenant_not_found"
    title = "Municipality not found"

    @classmethod
    def invalid_slug(cls, slug: str) -> "InvalidTenantSlug":
        return InvalidTenantSlug(f"{slug!r} is not a valid slug: lowercase letters, digits and '-', 3-64 long.")


class InvalidTenantSlug(DomainError):
    status = 422
    code = "invalid_tenant_slug"
    title = "Invalid municipality slug"


class TenantExists(Conflict):
    code = "tenant_exists"
    title = "Municipality already exists"
