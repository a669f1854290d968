"""Who is calling: the principal behind a request, and role checks for routers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.models import Role
from backend.core.errors import Forbidden, Unauthorized
from backend.core.routing import get_session


@dataclass(frozen=True, slots=True)
class Principal:
    tenant_id: int
    role: Role
    user_id: int | None = None
    merchant_id: int | None = None
    shopper_id: int | None = None
    api_key_id: int | None = None

    @property
    def is_pos_key(self) -> bool:
        return self.api_key_id is not None


async def current_principal(
    request: Request, session: Annotated[AsyncSession, Depends(get_session)]
) -> Principal:
    from backend.auth.service import principal_from_api_key
    from backend.auth.tokens import principal_from_access_token

    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    api_key = request.headers.get("x-api-key")
    if api_key:
        return await principal_from_api_key(session, raw_key=api_key)
    if scheme.lower() != "bearer" or not credentials:
        raise Unauthorized("Sign in first: send 'Authorization: Bearer <access token>'.")
    if credentials.startswith("kp_pos_"):
        return await principal_from_api_key(session, raw_key=credentials)
    return principal_from_access_token(credentials, settings=request.app.state.settings)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    allowed = frozenset(roles)

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise Forbidden("Your role may not do this.")
        return principal

    return check


AdminReader = Annotated[Principal, Depends(require_roles(Role.MUNICIPALITY_ADMIN, Role.AUDITOR))]
AdminWriter = Annotated[Principal, Depends(require_roles(Role.MUNICIPALITY_ADMIN))]
