"""Who is calling: the principal behind a request, and role checks for routers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.errors import MerchantSuspended
from backend.auth.models import Role
from backend.core.errors import Forbidden, Unauthorized
from backend.core.routing import get_session
from backend.merchants.models import Merchant, MerchantStatus


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


async def _authenticated(request: Request, session: AsyncSession) -> Principal:
    from backend.auth.service import principal_from_api_key
    from backend.auth.tokens import principal_from_access_token

    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    api_key = request.headers.get("x-api-key")
    # A POS key's lookup joins its shop and refuses an inactive one itself.
    if api_key:
        return await principal_from_api_key(session, raw_key=api_key)
    if scheme.lower() != "bearer" or not credentials:
        raise Unauthorized("Sign in first: send 'Authorization: Bearer <access token>'.")
    if credentials.startswith("kp_pos_"):
        return await principal_from_api_key(session, raw_key=credentials)
    return principal_from_access_token(credentials, settings=request.app.state.settings)


def keep_caller_merchant(session: AsyncSession, merchant: Merchant) -> None:
    """Hold the caller's shop for the rest of the request. The identity map only keeps
    objects weakly, so without this the row is dropped as soon as the check returns and
    the till's ``session.get(Merchant, ...)`` reads it a second time."""
    session.info["caller_merchant"] = merchant


async def ensure_merchant_active(
    session: AsyncSession, *, principal: Principal, owner_may_pass: bool = False
) -> None:
    """Refuse a shop's staff while their shop is not active.

    An access token lives for minutes and is checked without the database, so a shop
    suspended meanwhile is only noticed here: one primary-key read of the shop. It goes
    through ``session.get``, so the till's own ``session.get(Merchant, ...)`` later in the
    same request is answered from the identity map and the earn path reads the shop once.
    """
    if principal.merchant_id is None or principal.is_pos_key:
        return
    merchant = await session.get(Merchant, principal.merchant_id)
    if merchant is not None and merchant.tenant_id == principal.tenant_id:
        keep_caller_merchant(session, merchant)
        if merchant.status == MerchantStatus.ACTIVE:
            return
        if owner_may_pass and principal.role is Role.MERCHANT_OWNER:
            return
        status = merchant.status
    else:
        status = "unknown"
    raise MerchantSuspended(
        f"Your shop is {status}: its staff and till keys are refused until the municipality "
        "reactivates it.",
        merchant_status=status,
    )


async def current_principal(
    request: Request, session: Annotated[AsyncSession, Depends(get_session)]
) -> Principal:
    principal = await _authenticated(request, session)
    await ensure_merchant_active(session, principal=principal)
    return principal


async def principal_for_own_statements(
    request: Request, session: Annotated[AsyncSession, Depends(get_session)]
) -> Principal:
    """``current_principal``, except that the owner of a shop that is not active still
    gets in. A suspended shop is still owed the points it accepted and is paid out for
    them after closing months, so its owner must be able to read its settlement
    statements (the payout history: what was owed, paid and when). Only the read-only
    statement routes take this; cashiers and POS keys are refused everywhere."""
    principal = await _authenticated(request, session)
    await ensure_merchant_active(session, principal=principal, owner_may_pass=True)
    return principal


async def authenticate_web_request(request: Request, *, roles: Collection[str]) -> Principal:
    """Sign-in for the web apps' own endpoints (the camera-frame decoders), which are
    not ``TransactionalRoute``s: the same check as ``current_principal`` in a short
    read-only session of its own, closed before the endpoint starts its slow work, so no
    connection (and on SQLite no lock) is held while a frame is decoded. The apps do not
    import backend; ``backend.app`` hands them this function (``web_common.require_sign_in``)."""
    async with request.app.state.read_sessionmaker() as session:
        principal = await current_principal(request, session)
    if principal.role not in roles:
        raise Forbidden("Your role may not do this.")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
OwnStatementsReader = Annotated[Principal, Depends(principal_for_own_statements)]


def require_roles(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    allowed = frozenset(roles)

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise Forbidden("Your role may not do this.")
        return principal

    return check


AdminReader = Annotated[Principal, Depends(require_roles(Role.MUNICIPALITY_ADMIN, Role.AUDITOR))]
AdminWriter = Annotated[Principal, Depends(require_roles(Role.MUNICIPALITY_ADMIN))]
