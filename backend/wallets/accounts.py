"""A shopper's account: sign-up, e-mail links (verify, reset), password and profile.

E-mail link tokens are 256 random bits; only their SHA-256 is stored (``EmailToken``),
and each is spent with a conditional UPDATE so two clicks cannot both use it.
"""

from __future__ import annotations

import logging
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import service as auth_service
from backend.auth.deps import Principal
from backend.auth.models import EmailToken, LoginThrottle, RefreshToken, Role, User
from backend.auth.passwords import check_password_policy, hash_password_async, verify_password_async
from backend.config import Settings
from backend.core.errors import Forbidden, RateLimited
from backend.core.types import utcnow
from backend.notifications import texts
from backend.notifications.service import queue_email
from backend.tenants.errors import TenantNotFound
from backend.tenants.models import Tenant
from backend.wallets.errors import (
    AccountClosed,
    ConsentRequired,
    EmailTokenExpired,
    EmailTokenInvalid,
    EmailTokenUsed,
    PasswordIncorrect,
    PostcodeInvalid,
)
from backend.wallets.models import Shopper

logger = logging.getLogger("kernpunt.accounts")

# The version of the privacy text the sign-up screen shows; bump it with the text.
CONSENT_VERSION = "2026-11"

VERIFY_PURPOSE = "verify_email"
RESET_PURPOSE = "password_reset"
VERIFY_TTL = timedelta(days=7)
RESET_TTL = timedelta(hours=1)
# More reset mails than this per address and hour are silently not sent: the answer
# stays 202 either way, so the limit tells nobody whether the address has an account.
MAX_RESETS_PER_HOUR = 3

_POSTCODE = re.compile(r"^[1-9][0-9]{3}$")


@dataclass(frozen=True, slots=True)
class Profile:
    user: User
    shopper: Shopper


def normalise_postcode(postcode: str | None) -> str | None:
    if postcode is None or not postcode.strip():
        return None
    postcode = postcode.strip()
    if not _POSTCODE.match(postcode):
        raise PostcodeInvalid(f"{postcode!r} is not a Belgian postcode (1000-9999).")
    return postcode


async def _tenant(session: AsyncSession, slug: str) -> Tenant:
    tenant = await auth_service.tenant_by_slug(session, slug=slug)
    if tenant is None:
        raise TenantNotFound(f"There is no municipality {slug!r}.")
    return tenant


async def _shopper_of_user(session: AsyncSession, user: User) -> Shopper | None:
    return await session.scalar(
        select(Shopper).where(Shopper.tenant_id == user.tenant_id, Shopper.user_id == user.id)
    )


async def current_shopper(session: AsyncSession, *, principal: Principal) -> Shopper:
    """The calling shopper's own row; the token names it, nothing else can."""
    if principal.shopper_id is None:
        raise Forbidden("Only a shopper has a wallet.")
    shopper = await session.scalar(
        select(Shopper).where(
            Shopper.tenant_id == principal.tenant_id, Shopper.id == principal.shopper_id
        )
    )
    if shopper is None or shopper.deleted_at is not None:
        raise AccountClosed()
    return shopper


async def current_user(session: AsyncSession, *, principal: Principal) -> User:
    if principal.user_id is None:
        raise Forbidden("A till key has no password or profile.")
    user = await auth_service.get_user(
        session, tenant_id=principal.tenant_id, user_id=principal.user_id
    )
    if not user.is_active:
        raise AccountClosed()
    return user


# --- e-mail link tokens -------------------------------------------------------------------


async def _new_email_token(
    session: AsyncSession, *, user: User, purpose: str, ttl: timedelta
) -> str:
    assert user.id is not None
    raw = secrets.token_urlsafe(32)
    session.add(
        EmailToken(
            tenant_id=user.tenant_id,
            user_id=user.id,
            purpose=purpose,
            token_hash=auth_service.hash_secret(raw),
            expires_at=utcnow() + ttl,
        )
    )
    await session.flush()
    return raw


async def _spend_email_token(
    session: AsyncSession, *, raw_token: str, purpose: str, now: datetime
) -> tuple[EmailToken, bool]:
    """The token and whether this call spent it (False: it had been used before)."""
    token = await session.scalar(
        select(EmailToken).where(EmailToken.token_hash == auth_service.hash_secret(raw_token))
    )
    if token is None or token.purpose != purpose:
        raise EmailTokenInvalid()
    if token.used_at is not None:
        return token, False
    if token.expires_at <= now:
        raise EmailTokenExpired()
    spent = await session.execute(
        update(EmailToken)
        .where(EmailToken.id == token.id, EmailToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return token, spent.rowcount == 1  # type: ignore[attr-defined]


def _link(settings: Settings, path: str, raw_token: str) -> str:
    return f"{settings.public_url.rstrip('/')}{path}?token={raw_token}"


async def _queue_verification(
    session: AsyncSession, *, settings: Settings, user: User, shopper: Shopper, scheme: str
) -> None:
    raw = await _new_email_token(session, user=user, purpose=VERIFY_PURPOSE, ttl=VERIFY_TTL)
    text = texts.render(
        "verify_email",
        shopper.language,
        scheme=scheme,
        first_name=shopper.first_name,
        link=_link(settings, "/app/verify", raw),
        valid_days=VERIFY_TTL.days,
    )
    await queue_email(
        session,
        tenant_id=user.tenant_id,
        to_email=user.email,
        subject=text.subject,
        body_text=text.body,
        kind=VERIFY_PURPOSE,
    )


# --- sign-up ----------------------------------------------------------------------------


async def sign_up(
    session: AsyncSession,
    *,
    settings: Settings,
    tenant_slug: str,
    email: str,
    password: str,
    first_name: str,
    language: str,
    postcode: str | None,
    consent: bool,
) -> auth_service.IssuedTokens:
    if consent is not True:
        raise ConsentRequired("Set consent: true after showing the privacy terms.")
    postcode = normalise_postcode(postcode)
    tenant = await _tenant(session, tenant_slug)
    assert tenant.id is not None
    user = await auth_service.create_user(
        session,
        tenant_id=tenant.id,
        email=email,
        password=password,
        role=Role.SHOPPER,
        display_name=first_name,
        language=language,
    )
    shopper = await _shopper_of_user(session, user)
    assert shopper is not None
    shopper.first_name = first_name.strip()
    shopper.postcode = postcode
    # Sint-Gillis-Waas's four villages share postcode 9170, so the village cannot be
    # derived from the postcode; statistics group by postcode until the shopper says more.
    shopper.village = None
    shopper.consent_version = CONSENT_VERSION
    shopper.consent_at = utcnow()
    session.add(shopper)
    await session.flush()
    await _welcome_bonus(session, tenant_id=tenant.id, shopper_id=shopper.id)  # type: ignore[arg-type]
    await _queue_verification(
        session, settings=settings, user=user, shopper=shopper, scheme=tenant.name
    )
    return await auth_service.issue_tokens(session, user=user, settings=settings)


async def _welcome_bonus(session: AsyncSession, *, tenant_id: int, shopper_id: int) -> None:
    from backend.campaigns.bonus import apply_welcome_bonuses
    from backend.ledger.service import find_account

    wallet = await find_account(session, tenant_id=tenant_id, code=f"shopper:{shopper_id}:wallet")
    await apply_welcome_bonuses(
        session, tenant_id=tenant_id, shopper_id=shopper_id, wallet_account_id=wallet.id, now=utcnow()  # type: ignore[arg-type]
    )


async def verify_email(session: AsyncSession, *, raw_token: str) -> User:
    """Mark the address verified. Using the link again is harmless (mail clients and
    impatient people click twice)."""
    now = utcnow()
    token, _spent_now = await _spend_email_token(
        session, raw_token=raw_token, purpose=VERIFY_PURPOSE, now=now
    )
    user = await auth_service.get_user(session, tenant_id=token.tenant_id, user_id=token.user_id)
    if not user.is_active:
        raise EmailTokenInvalid()
    if user.email_verified_at is None:
        user.email_verified_at = now
        session.add(user)
        await session.flush()
    return user


# --- passwords ------------------------------------------------------------------------------


async def request_password_reset(
    session: AsyncSession, *, settings: Settings, tenant_slug: str, email: str
) -> None:
    """Queue a reset mail when the address has an active account; silent otherwise."""
    tenant = await auth_service.tenant_by_slug(session, slug=tenant_slug)
    if tenant is None or tenant.id is None:
        return
    user = await auth_service.find_user_by_email(session, tenant_id=tenant.id, email=email)
    if user is None or not user.is_active:
        return
    now = utcnow()
    recent = await session.scalar(
        select(func.count())
        .select_from(EmailToken)
        .where(
            EmailToken.tenant_id == tenant.id,
            EmailToken.user_id == user.id,
            EmailToken.purpose == RESET_PURPOSE,
            EmailToken.created_at > now - timedelta(hours=1),
        )
    )
    if recent >= MAX_RESETS_PER_HOUR:
        logger.info("password reset mail not sent: hourly limit reached for user %s", user.id)
        return
    shopper = await _shopper_of_user(session, user)
    raw = await _new_email_token(session, user=user, purpose=RESET_PURPOSE, ttl=RESET_TTL)
    text = texts.render(
        "password_reset",
        shopper.language if shopper else user.language,
        scheme=tenant.name,
        first_name=shopper.first_name if shopper else user.display_name,
        link=_link(settings, "/app/reset-password", raw),
        valid_minutes=int(RESET_TTL.total_seconds() // 60),
    )
    await queue_email(
        session,
        tenant_id=tenant.id,
        to_email=user.email,
        subject=text.subject,
        body_text=text.body,
        kind=RESET_PURPOSE,
    )


async def revoke_sessions(
    session: AsyncSession, *, user: User, keep_family: str | None = None
) -> None:
    query = update(RefreshToken).where(
        RefreshToken.tenant_id == user.tenant_id,
        RefreshToken.user_id == user.id,
        RefreshToken.revoked_at.is_(None),
    )
    if keep_family is not None:
        query = query.where(RefreshToken.family_id != keep_family)
    await session.execute(
        query.values(revoked_at=utcnow()).execution_options(synchronize_session=False)
    )


async def confirm_password_reset(
    session: AsyncSession, *, raw_token: str, new_password: str
) -> User:
    now = utcnow()
    token, spent_now = await _spend_email_token(
        session, raw_token=raw_token, purpose=RESET_PURPOSE, now=now
    )
    if not spent_now:
        raise EmailTokenUsed()
    check_password_policy(new_password)
    user = await auth_service.get_user(session, tenant_id=token.tenant_id, user_id=token.user_id)
    if not user.is_active:
        raise EmailTokenInvalid()
    user.password_hash = await hash_password_async(new_password)
    # Following the link proved the address is theirs.
    user.email_verified_at = user.email_verified_at or now
    session.add(user)
    # Any other reset link still in a mailbox is worthless now.
    await session.execute(
        update(EmailToken)
        .where(
            EmailToken.tenant_id == user.tenant_id,
            EmailToken.user_id == user.id,
            EmailToken.purpose == RESET_PURPOSE,
            EmailToken.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    await revoke_sessions(session, user=user)
    await session.flush()
    return user


async def check_current_password(session: AsyncSession, *, user: User, password: str) -> None:
    """Ask the password again before a sensitive change; wrong guesses count towards
    the same lockout as failed sign-ins."""
    subject = f"email:{user.email}"[:300]
    throttle = await session.scalar(
        select(LoginThrottle).where(
            LoginThrottle.tenant_id == user.tenant_id, LoginThrottle.subject == subject
        )
    )
    now = utcnow()
    if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
        retry_after = max(1, math.ceil((throttle.locked_until - now).total_seconds()))
        raise RateLimited(
            f"Too many wrong passwords; try again in {retry_after} seconds.",
            retry_after=retry_after,
        )
    if not await verify_password_async(user.password_hash, password):
        raise PasswordIncorrect().with_memory(
            partial(auth_service.record_login_failure, tenant_id=user.tenant_id, email=user.email)
        )


async def change_password(
    session: AsyncSession,
    *,
    principal: Principal,
    current_password: str,
    new_password: str,
    keep_refresh_token: str | None,
) -> None:
    """Set a new password; every session ends except the one of ``keep_refresh_token``
    (the caller's own, when it sends it)."""
    user = await current_user(session, principal=principal)
    await check_current_password(session, user=user, password=current_password)
    check_password_policy(new_password)
    user.password_hash = await hash_password_async(new_password)
    session.add(user)
    keep_family = None
    if keep_refresh_token:
        keep_family = await session.scalar(
            select(RefreshToken.family_id).where(
                RefreshToken.token_hash == auth_service.hash_secret(keep_refresh_token),
                RefreshToken.tenant_id == user.tenant_id,
                RefreshToken.user_id == user.id,
            )
        )
    await revoke_sessions(session, user=user, keep_family=keep_family)
    await session.flush()


# --- profile ----------------------------------------------------------------------------------


async def get_profile(session: AsyncSession, *, principal: Principal) -> Profile:
    shopper = await current_shopper(session, principal=principal)
    user = await current_user(session, principal=principal)
    return Profile(user=user, shopper=shopper)


async def update_profile(
    session: AsyncSession, *, principal: Principal, changes: dict[str, object]
) -> Profile:
    profile = await get_profile(session, principal=principal)
    user, shopper = profile.user, profile.shopper
    if "first_name" in changes:
        first_name = str(changes["first_name"] or "").strip()
        shopper.first_name = first_name
        user.display_name = first_name
    if "language" in changes and changes["language"] is not None:
        shopper.language = user.language = str(changes["language"])
    if "postcode" in changes:
        postcode = normalise_postcode(changes["postcode"])  # type: ignore[arg-type]
        if postcode != shopper.postcode:
            shopper.postcode = postcode
            shopper.village = None
    session.add_all([user, shopper])
    await session.flush()
    return profile
