"""Users, sign-in, refresh-token sessions and what a principal may see of itself.

Services flush and never commit: the request transaction is committed by the route.
The exception is what a failed sign-in or a replayed refresh token must leave behind;
those errors carry a ``remember`` step the router runs in a transaction of its own
(see ``backend.auth.errors.DurableFailure``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.api_keys import (  # noqa: F401  (part of this module's public interface)
    create_pos_api_key,
    list_pos_api_keys,
    merchant_for_key_management,
    principal_from_api_key,
    revoke_pos_api_key,
)
from backend.auth.deps import Principal, ensure_merchant_active
from backend.auth.errors import (
    EmailInvalid,
    EmailTaken,
    InvalidCredentials,
    MerchantNotAllowed,
    MerchantNotFound,
    MerchantRequired,
    RefreshTokenExpired,
    RefreshTokenInvalid,
    RefreshTokenReused,
    RoleNotAllowed,
    UserNotFound,
)
from backend.auth.models import LoginThrottle, PosApiKey, RefreshToken, Role, User
from backend.auth.passwords import (
    check_password_policy,
    hash_password_async,
    needs_rehash,
    verify_password_async,
)
from backend.auth.throttle import ThrottlePolicy, record_failure, retry_after
from backend.auth.tokens import issue_access_token
from backend.config import Settings
from backend.core.errors import Forbidden, RateLimited
from backend.core.types import utcnow
from backend.ledger.service import open_shopper_wallet
from backend.merchants.models import Merchant
from backend.tenants.models import Tenant
from backend.wallets.models import Shopper

MERCHANT_ROLES = frozenset({Role.MERCHANT_OWNER, Role.CASHIER})
STAFF_ROLES_BY_ADMIN = frozenset(
    {Role.MUNICIPALITY_ADMIN, Role.AUDITOR, Role.MERCHANT_OWNER, Role.CASHIER}
)

# Five wrong passwords within a quarter of an hour lock the (tenant, e-mail) pair for a
# quarter of an hour: slow enough to stop guessing, short enough not to lock people out
# for long when somebody else is guessing their address.
MAX_LOGIN_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
LOGIN_THROTTLE = ThrottlePolicy(max_failures=MAX_LOGIN_FAILURES, window=FAILURE_WINDOW, lockout=LOCKOUT)

# Deliberately loose: the only real test of an address is mail arriving there.
_EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
MAX_EMAIL_LENGTH = 254


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    access_token: str
    expires_in: int
    refresh_token: str
    user: User
    principal: Principal
    tenant_slug: str


@dataclass(frozen=True, slots=True)
class PrincipalProfile:
    principal: Principal
    tenant_slug: str
    email: str | None
    display_name: str
    language: str | None


def normalise_email(email: str) -> str:
    return email.strip().lower()


def validate_email(email: str) -> str:
    normalised = normalise_email(email)
    if len(normalised) > MAX_EMAIL_LENGTH or not _EMAIL_PATTERN.match(normalised):
        raise EmailInvalid(f"{email!r} is not an e-mail address.")
    return normalised


def hash_secret(raw: str) -> str:
    """SHA-256 hex of a random high-entropy secret (refresh token, API key): no salt or
    slow hash needed, nobody can guess 256 random bits from the digest."""
    return hashlib.sha256(raw.encode()).hexdigest()


# --- users -----------------------------------------------------------------------------


async def tenant_by_slug(session: AsyncSession, *, slug: str) -> Tenant | None:
    return await session.scalar(select(Tenant).where(Tenant.slug == slug))


async def get_user(session: AsyncSession, *, tenant_id: int, user_id: int) -> User:
    user = await session.scalar(select(User).where(User.tenant_id == tenant_id, User.id == user_id))
    if user is None:
        raise UserNotFound()
    return user


async def find_user_by_email(session: AsyncSession, *, tenant_id: int, email: str) -> User | None:
    return await session.scalar(
        select(User).where(User.tenant_id == tenant_id, User.email == normalise_email(email))
    )


async def shopper_id_for_user(session: AsyncSession, *, tenant_id: int, user_id: int) -> int | None:
    return await session.scalar(
        select(Shopper.id).where(
            Shopper.tenant_id == tenant_id, Shopper.user_id == user_id, Shopper.deleted_at.is_(None)
        )
    )


async def _require_merchant(session: AsyncSession, *, tenant_id: int, merchant_id: int) -> None:
    found = await session.scalar(
        select(Merchant.id).where(Merchant.tenant_id == tenant_id, Merchant.id == merchant_id)
    )
    if found is None:
        raise MerchantNotFound()


async def create_user(
    session: AsyncSession,
    *,
    tenant_id: int,
    email: str,
    password: str,
    role: Role | str,
    merchant_id: int | None = None,
    display_name: str = "",
    language: str = "nl",
) -> User:
    role = Role(role)
    email = validate_email(email)
    check_password_policy(password)
    if role in MERCHANT_ROLES:
        if merchant_id is None:
            raise MerchantRequired(f"A {role} must belong to a merchant: give merchant_id.")
        await _require_merchant(session, tenant_id=tenant_id, merchant_id=merchant_id)
    elif merchant_id is not None:
        raise MerchantNotAllowed(f"A {role} does not belong to a merchant: leave merchant_id out.")

    user = User(
        tenant_id=tenant_id,
        email=email,
        password_hash=await hash_password_async(password),
        role=role.value,
        merchant_id=merchant_id,
        display_name=display_name.strip(),
        language=language,
    )
    try:
        # A savepoint, so a concurrent sign-up with the same address costs this insert
        # only and surfaces as 409 rather than a broken transaction.
        async with session.begin_nested():
            session.add(user)
    except IntegrityError as exc:
        raise EmailTaken() from exc

    if role is Role.SHOPPER:
        shopper = Shopper(
            tenant_id=tenant_id, user_id=user.id, first_name=(user.display_name.split() or [''])[0], language=language
        )
        session.add(shopper)
        await session.flush()
        await open_shopper_wallet(session, tenant_id=tenant_id, shopper_id=shopper.id)
    return user


def allowed_merchant_for_new_user(
    actor: Principal, *, role: Role, merchant_id: int | None
) -> int | None:
    """Who may create whom: an admin creates staff of its own municipality, a merchant
    owner creates cashiers of its own shop. Returns the merchant the user will belong to."""
    if actor.is_pos_key:
        raise Forbidden("A till key cannot manage users.")
    if actor.role is Role.MUNICIPALITY_ADMIN:
        if role not in STAFF_ROLES_BY_ADMIN:
            raise RoleNotAllowed(f"An administrator cannot create {role} users.")
        return merchant_id
    if actor.role is Role.MERCHANT_OWNER:
        if role is not Role.CASHIER:
            raise RoleNotAllowed("A merchant owner can only create cashiers.")
        if merchant_id is not None and merchant_id != actor.merchant_id:
            raise Forbidden("You can only create cashiers for your own shop.")
        return actor.merchant_id
    raise Forbidden("Your role may not create users.")


async def create_staff_user(
    session: AsyncSession,
    *,
    actor: Principal,
    email: str,
    password: str,
    role: Role | str,
    merchant_id: int | None = None,
    display_name: str = "",
    language: str = "nl",
) -> User:
    role = Role(role)
    merchant_id = allowed_merchant_for_new_user(actor, role=role, merchant_id=merchant_id)
    return await create_user(
        session,
        tenant_id=actor.tenant_id,
        email=email,
        password=password,
        role=role,
        merchant_id=merchant_id,
        display_name=display_name,
        language=language,
    )


async def list_users(
    session: AsyncSession,
    *,
    actor: Principal,
    role: Role | None = None,
    merchant_id: int | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[User]:
    """Users of the actor's municipality, newest first, up to ``limit + 1`` rows (so the
    caller can tell whether there is a next page). Merchant owners see their own staff."""
    if actor.is_pos_key:
        raise Forbidden("A till key cannot list users.")
    if actor.role is Role.MERCHANT_OWNER:
        if merchant_id is not None and merchant_id != actor.merchant_id:
            raise Forbidden("You can only see the staff of your own shop.")
        merchant_id = actor.merchant_id
    elif actor.role not in (Role.MUNICIPALITY_ADMIN, Role.AUDITOR):
        raise Forbidden("Your role may not list users.")
    query = select(User).where(User.tenant_id == actor.tenant_id)
    if role is not None:
        query = query.where(User.role == role.value)
    if merchant_id is not None:
        query = query.where(User.merchant_id == merchant_id)
    if before_id is not None:
        query = query.where(User.id < before_id)
    result = await session.scalars(query.order_by(User.id.desc()).limit(limit + 1))
    return list(result)


# --- sign-in and sessions ----------------------------------------------------------------


def _throttle_subject(email: str) -> str:
    return f"email:{email}"[:300]


async def record_login_failure(
    session: AsyncSession, *, tenant_id: int, email: str, now: datetime | None = None
) -> LoginThrottle:
    """Count one failed sign-in; the fifth within the window locks the address."""
    return await record_failure(
        session,
        tenant_id=tenant_id,
        subject=_throttle_subject(normalise_email(email)),
        policy=LOGIN_THROTTLE,
        now=now,
    )


async def authenticate(
    session: AsyncSession, *, tenant_slug: str, email: str, password: str
) -> User:
    """The active user with these credentials. Unknown municipality, unknown address,
    wrong password and disabled account all fail alike, in about the same time."""
    email = normalise_email(email)
    tenant = await tenant_by_slug(session, slug=tenant_slug)
    if tenant is None:
        await verify_password_async(None, password)
        raise InvalidCredentials()
    assert tenant.id is not None
    subject = _throttle_subject(email)
    throttle = await session.scalar(
        select(LoginThrottle).where(
            LoginThrottle.tenant_id == tenant.id, LoginThrottle.subject == subject
        )
    )
    now = utcnow()
    if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
        wait = retry_after(throttle.locked_until, now)
        raise RateLimited(
            f"Too many failed sign-ins for this address; try again in {wait} seconds.",
            retry_after=wait,
        )
    user = await session.scalar(
        select(User).where(User.tenant_id == tenant.id, User.email == email)
    )
    verified = await verify_password_async(
        user.password_hash if user is not None else None, password
    )
    if user is None or not verified or not user.is_active:
        raise InvalidCredentials().with_memory(
            partial(record_login_failure, tenant_id=tenant.id, email=email)
        )
    if needs_rehash(user.password_hash):
        user.password_hash = await hash_password_async(password)
    if throttle is not None:
        await session.delete(throttle)
    await session.flush()
    return user


async def issue_tokens(
    session: AsyncSession, *, user: User, settings: Settings, family_id: str | None = None
) -> IssuedTokens:
    """A new access token and refresh token for ``user``; ``family_id`` continues a
    session (refresh), None starts one (sign-in)."""
    assert user.id is not None
    role = Role(user.role)
    shopper_id = (
        await shopper_id_for_user(session, tenant_id=user.tenant_id, user_id=user.id)
        if role is Role.SHOPPER
        else None
    )
    tenant_slug = await session.scalar(select(Tenant.slug).where(Tenant.id == user.tenant_id))
    assert tenant_slug is not None
    principal = Principal(
        tenant_id=user.tenant_id,
        role=role,
        user_id=user.id,
        merchant_id=user.merchant_id,
        shopper_id=shopper_id,
    )
    # A cashier of a shop that is not active is told so at sign-in and refresh; its owner
    # may still sign in, to read the shop's settlement statements (see auth.deps).
    await ensure_merchant_active(session, principal=principal, owner_may_pass=True)
    access_token, expires_in = issue_access_token(
        settings=settings,
        user_id=user.id,
        tenant_id=user.tenant_id,
        role=role,
        merchant_id=user.merchant_id,
        shopper_id=shopper_id,
    )
    raw_refresh = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            tenant_id=user.tenant_id,
            user_id=user.id,
            family_id=family_id or str(uuid.uuid4()),
            token_hash=hash_secret(raw_refresh),
            expires_at=utcnow() + timedelta(seconds=settings.refresh_token_ttl_seconds),
        )
    )
    await session.flush()
    return IssuedTokens(
        access_token=access_token,
        expires_in=expires_in,
        refresh_token=raw_refresh,
        user=user,
        principal=principal,
        tenant_slug=tenant_slug,
    )


async def revoke_token_family(session: AsyncSession, *, tenant_id: int, family_id: str) -> None:
    await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.tenant_id == tenant_id,
            RefreshToken.family_id == family_id,
            RefreshToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _reused(token: RefreshToken) -> RefreshTokenReused:
    return RefreshTokenReused().with_memory(
        partial(revoke_token_family, tenant_id=token.tenant_id, family_id=token.family_id)
    )


async def rotate_refresh_token(
    session: AsyncSession, *, raw_token: str, settings: Settings
) -> IssuedTokens:
    """Spend a refresh token on a new pair. A token is good for one use: seeing it
    again means it was copied, so the whole session (family) is ended."""
    token = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == hash_secret(raw_token))
    )
    if token is None:
        raise RefreshTokenInvalid()
    now = utcnow()
    if token.used_at is not None or token.revoked_at is not None:
        raise _reused(token)
    if token.expires_at <= now:
        raise RefreshTokenExpired()
    # Claim the token with a conditional UPDATE: of two concurrent refreshes with the
    # same token exactly one wins, the other sees it used and ends the family.
    claimed = await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.tenant_id == token.tenant_id,
            RefreshToken.id == token.id,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise _reused(token)
    user = await session.scalar(
        select(User).where(User.tenant_id == token.tenant_id, User.id == token.user_id)
    )
    if user is None or not user.is_active:
        raise RefreshTokenInvalid("The account behind this session is no longer active.")
    return await issue_tokens(session, user=user, settings=settings, family_id=token.family_id)


async def revoke_refresh_token(session: AsyncSession, *, raw_token: str) -> None:
    """Sign out: end the session the token belongs to. Unknown or already revoked
    tokens are fine, so a repeated logout succeeds."""
    token = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == hash_secret(raw_token))
    )
    if token is not None:
        await revoke_token_family(session, tenant_id=token.tenant_id, family_id=token.family_id)
        await session.flush()


async def principal_profile(session: AsyncSession, *, principal: Principal) -> PrincipalProfile:
    tenant_slug = await session.scalar(select(Tenant.slug).where(Tenant.id == principal.tenant_id))
    if tenant_slug is None:
        raise UserNotFound("Your municipality no longer exists.")
    if principal.user_id is not None:
        user = await get_user(session, tenant_id=principal.tenant_id, user_id=principal.user_id)
        return PrincipalProfile(
            principal=principal,
            tenant_slug=tenant_slug,
            email=user.email,
            display_name=user.display_name,
            language=user.language,
        )
    key_name = await session.scalar(
        select(PosApiKey.name).where(
            PosApiKey.tenant_id == principal.tenant_id, PosApiKey.id == principal.api_key_id
        )
    )
    return PrincipalProfile(
        principal=principal,
        tenant_slug=tenant_slug,
        email=None,
        display_name=key_name or "",
        language=None,
    )
