"""Merchant onboarding: a shop applies on a public form, the municipality approves,
rejects, suspends or reactivates it, and the approved owner is invited by e-mail.

Status moves only along PENDING -> ACTIVE | REJECTED and ACTIVE <-> SUSPENDED.
Authentication refuses the POS keys and staff of a shop that is not ACTIVE (the owner
may still read its statements; backend/auth/deps.py); shoppers' points are not tied to
a shop, so they stay spendable everywhere else.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record_audit
from backend.auth import service as auth_service
from backend.auth.deps import Principal
from backend.auth.models import Role, User
from backend.auth.passwords import check_password_policy, hash_password_async
from backend.config import Settings
from backend.core.errors import RateLimited
from backend.core.types import utcnow
from backend.ledger.service import open_merchant_accounts
from backend.merchants.errors import (
    IbanInvalid,
    MerchantNotFound,
    PhoneInvalid,
    VatNumberInvalid,
    VatNumberTaken,
    VillageUnknown,
    WrongMerchantStatus,
)
from backend.merchants.models import Merchant, MerchantStatus
from backend.notifications import texts
from backend.notifications.service import queue_email
from backend.settlement.iban import iban_problem, normalize_iban
from backend.tenants.errors import TenantNotFound
from backend.tenants.models import Tenant
from backend.wallets.accounts import _new_email_token, _spend_email_token, revoke_sessions
from backend.wallets.errors import EmailTokenInvalid, EmailTokenUsed

INVITE_PURPOSE = "invite"
INVITE_TTL = timedelta(days=14)
# An owner invited but not yet through the link has no password anybody could guess:
# no argon2 hash starts with "!", so every sign-in with it fails.
UNUSABLE_PASSWORD = "!invited"

# The public form is open to anybody: a few honest retries per address, and a ceiling
# per municipality so a script cannot bury the admins in applications.
MAX_APPLICATIONS_PER_EMAIL_HOUR = 3
MAX_APPLICATIONS_PER_TENANT_HOUR = 30

_VAT = re.compile(r"^BE[01][0-9]{9}$")
_PHONE_CHARS = re.compile(r"^\+?[0-9 ./()-]+$")


def normalize_vat(value: str) -> str:
    """``BE 0123.456.749`` -> ``BE0123456749``; a bare enterprise number gets its BE."""
    compact = re.sub(r"[\s.\-]", "", value).upper()
    if compact.isdigit() and len(compact) in (9, 10):
        compact = "BE" + compact.zfill(10)
    return compact


def valid_vat(value: str) -> str:
    vat = normalize_vat(value)
    if not _VAT.match(vat):
        raise VatNumberInvalid(f"{value!r}: write BE followed by ten digits, e.g. BE0123456749.")
    digits = vat[2:]
    if 97 - int(digits[:8]) % 97 != int(digits[8:]):
        raise VatNumberInvalid(f"{value!r}: the check digits do not match.")
    return vat


def valid_iban(value: str) -> str:
    problem = iban_problem(value)
    if problem:
        raise IbanInvalid(f"{value!r}: {problem}.")
    return normalize_iban(value)


def valid_phone(value: str) -> str:
    phone = " ".join(value.split())
    digits = sum(ch.isdigit() for ch in phone)
    if not _PHONE_CHARS.match(phone) or not 8 <= digits <= 15:
        raise PhoneInvalid(f"{value!r} is not a telephone number.")
    return phone


def valid_village(tenant: Tenant, village: str) -> str:
    village = " ".join(village.split())
    if not tenant.villages:
        return village
    for known in tenant.villages:
        if known.casefold() == village.casefold():
            return known
    raise VillageUnknown(f"{village!r} is not one of: {', '.join(tenant.villages)}.", villages=tenant.villages)


async def tenant_for_form(session: AsyncSession, *, slug: str) -> Tenant:
    tenant = await auth_service.tenant_by_slug(session, slug=slug)
    if tenant is None:
        raise TenantNotFound(f"There is no municipality {slug!r}.")
    return tenant


# --- the public application ---------------------------------------------------------


async def _check_rate(session: AsyncSession, *, tenant_id: int, email: str) -> None:
    since = utcnow() - timedelta(hours=1)
    recent = select(func.count()).select_from(Merchant).where(
        Merchant.tenant_id == tenant_id, Merchant.created_at > since
    )
    if await session.scalar(recent.where(Merchant.contact_email == email)) >= MAX_APPLICATIONS_PER_EMAIL_HOUR:
        raise RateLimited("Several applications came from this address in the last hour; try again later.", retry_after=3600)
    if await session.scalar(recent) >= MAX_APPLICATIONS_PER_TENANT_HOUR:
        raise RateLimited("Many applications arrived in the last hour; try again later.", retry_after=600)


async def submit_application(session: AsyncSession, *, tenant_slug: str, data: dict[str, Any]) -> Merchant:
    """A PENDING merchant from the public form; every field validated before anything is written."""
    tenant = await tenant_for_form(session, slug=tenant_slug)
    assert tenant.id is not None
    village = valid_village(tenant, data["village"])
    vat = valid_vat(data["vat_number"])
    iban = valid_iban(data["iban"])
    email = auth_service.validate_email(data["contact_email"])
    phone = valid_phone(data["contact_phone"])
    await _check_rate(session, tenant_id=tenant.id, email=email)
    taken = await session.scalar(
        select(Merchant.id).where(
            Merchant.tenant_id == tenant.id,
            Merchant.vat_number == vat,
            Merchant.status.in_([MerchantStatus.PENDING, MerchantStatus.ACTIVE, MerchantStatus.SUSPENDED]),
        )
    )
    if taken is not None:
        raise VatNumberTaken()
    merchant = Merchant(
        tenant_id=tenant.id,
        name=" ".join(data["name"].split()),
        category=str(data["category"]),
        village=village,
        address=" ".join(data["address"].split()),
        postcode=data.get("postcode") or "",
        vat_number=vat,
        iban=iban,
        language=data.get("language") or "nl",
        status=MerchantStatus.PENDING,
        contact_name=" ".join(data["contact_name"].split()),
        contact_email=email,
        contact_phone=phone,
    )
    session.add(merchant)
    await session.flush()
    return merchant


# --- the municipality's side -------------------------------------------------------------


async def get_merchant(session: AsyncSession, *, tenant_id: int, merchant_id: int) -> Merchant:
    merchant = await session.scalar(
        select(Merchant).where(Merchant.tenant_id == tenant_id, Merchant.id == merchant_id)
    )
    if merchant is None:
        raise MerchantNotFound(f"Merchant {merchant_id} does not exist.")
    return merchant


async def list_merchants(
    session: AsyncSession,
    *,
    tenant_id: int,
    status: str | None = None,
    category: str | None = None,
    village: str | None = None,
    search: str | None = None,
    limit: int,
    before_id: int | None = None,
) -> list[Merchant]:
    """Newest first, ``limit + 1`` rows for paging."""
    query = select(Merchant).where(Merchant.tenant_id == tenant_id)
    if status:
        query = query.where(Merchant.status == status)
    if category:
        query = query.where(Merchant.category == category)
    if village:
        query = query.where(Merchant.village == village)
    if search:
        like = f"%{search.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(Merchant.name).like(like),
                func.lower(Merchant.contact_name).like(like),
                func.lower(Merchant.contact_email).like(like),
                func.lower(func.coalesce(Merchant.vat_number, "")).like(like),
            )
        )
    if before_id is not None:
        query = query.where(Merchant.id < before_id)
    return list(await session.scalars(query.order_by(Merchant.id.desc()).limit(limit + 1)))


def snapshot(merchant: Merchant) -> dict[str, Any]:
    """What the audit log keeps of a shop before and after a change."""
    return {
        "status": merchant.status,
        "status_reason": merchant.status_reason,
        "name": merchant.name,
        "category": merchant.category,
        "village": merchant.village,
    }


async def _audit(
    session: AsyncSession,
    *,
    principal: Principal,
    action: str,
    merchant: Merchant,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    """Every onboarding change passes through here, in the request's transaction: the
    audit entry exists if and only if the change was committed."""
    await record_audit(
        session,
        principal=principal,
        action=action,
        entity_type="merchant",
        entity_id=merchant.id,
        before=before,
        after=after,
    )


async def _move(
    session: AsyncSession,
    *,
    principal: Principal,
    merchant_id: int,
    allowed_from: tuple[MerchantStatus, ...],
    to: MerchantStatus,
    reason: str,
    action: str,
) -> Merchant:
    merchant = await get_merchant(session, tenant_id=principal.tenant_id, merchant_id=merchant_id)
    if merchant.status not in allowed_from:
        raise WrongMerchantStatus(
            f"{merchant.name} is {merchant.status}; only a {' or '.join(allowed_from)} shop can be {to}.",
            merchant_status=merchant.status,
        )
    before = snapshot(merchant)
    merchant.status = to
    merchant.status_reason = reason.strip()
    merchant.status_changed_at = utcnow()
    session.add(merchant)
    await session.flush()
    await _audit(session, principal=principal, action=action, merchant=merchant, before=before, after=snapshot(merchant))
    return merchant


async def approve(session: AsyncSession, *, principal: Principal, merchant_id: int, settings: Settings) -> tuple[Merchant, User]:
    """Activate the shop, open its ledger accounts, create its owner and mail the invitation."""
    merchant = await _move(
        session,
        principal=principal,
        merchant_id=merchant_id,
        allowed_from=(MerchantStatus.PENDING,),
        to=MerchantStatus.ACTIVE,
        reason="",
        action="merchant.approve",
    )
    assert merchant.id is not None
    tenant = await session.get(Tenant, principal.tenant_id)
    assert tenant is not None
    await open_merchant_accounts(
        session,
        tenant_id=principal.tenant_id,
        merchant_id=merchant.id,
        merchant_name=merchant.name,
        credit_limit=tenant.default_float_credit_limit,
    )
    # Through the ordinary user service (address checks, unique per town, 409 on a clash);
    # the throw-away password is replaced by one nobody can type at once.
    owner = await auth_service.create_user(
        session,
        tenant_id=principal.tenant_id,
        email=merchant.contact_email,
        password=secrets.token_urlsafe(24),
        role=Role.MERCHANT_OWNER,
        merchant_id=merchant.id,
        display_name=merchant.contact_name,
        language=merchant.language,
    )
    owner.password_hash = UNUSABLE_PASSWORD
    session.add(owner)
    await session.flush()
    await _audit(
        session,
        principal=principal,
        action="user.invite",
        merchant=merchant,
        before={},
        after={"user_id": owner.id, "role": Role.MERCHANT_OWNER.value, "email": owner.email},
    )
    await queue_invitation(session, settings=settings, tenant=tenant, merchant=merchant, owner=owner)
    return merchant, owner


async def queue_invitation(
    session: AsyncSession, *, settings: Settings, tenant: Tenant, merchant: Merchant, owner: User
) -> None:
    raw = await _new_email_token(session, user=owner, purpose=INVITE_PURPOSE, ttl=INVITE_TTL)
    link = f"{settings.public_url.rstrip('/')}/merchant/set-password?token={raw}"
    text = texts.render(
        "merchant_invite",
        owner.language,
        scheme=tenant.name,
        first_name=owner.display_name.split()[0] if owner.display_name.split() else "",
        shop=merchant.name,
        link=link,
        valid_days=INVITE_TTL.days,
    )
    await queue_email(
        session,
        tenant_id=owner.tenant_id,
        to_email=owner.email,
        subject=text.subject,
        body_text=text.body,
        kind="merchant_invite",
    )


async def reject(session: AsyncSession, *, principal: Principal, merchant_id: int, reason: str) -> Merchant:
    return await _move(
        session, principal=principal, merchant_id=merchant_id, allowed_from=(MerchantStatus.PENDING,),
        to=MerchantStatus.REJECTED, reason=reason, action="merchant.reject",
    )


async def suspend(session: AsyncSession, *, principal: Principal, merchant_id: int, reason: str) -> Merchant:
    return await _move(
        session, principal=principal, merchant_id=merchant_id, allowed_from=(MerchantStatus.ACTIVE,),
        to=MerchantStatus.SUSPENDED, reason=reason, action="merchant.suspend",
    )


async def reactivate(session: AsyncSession, *, principal: Principal, merchant_id: int, reason: str) -> Merchant:
    return await _move(
        session, principal=principal, merchant_id=merchant_id, allowed_from=(MerchantStatus.SUSPENDED,),
        to=MerchantStatus.ACTIVE, reason=reason, action="merchant.reactivate",
    )


async def accept_invitation(session: AsyncSession, *, raw_token: str, password: str) -> User:
    """The owner chooses a password through the invitation link (single use)."""
    check_password_policy(password)
    now = utcnow()
    token, spent_now = await _spend_email_token(session, raw_token=raw_token, purpose=INVITE_PURPOSE, now=now)
    if not spent_now:
        raise EmailTokenUsed("This invitation was used already; sign in with your password.")
    user = await auth_service.get_user(session, tenant_id=token.tenant_id, user_id=token.user_id)
    if not user.is_active or user.role != Role.MERCHANT_OWNER:
        raise EmailTokenInvalid()
    user.password_hash = await hash_password_async(password)
    user.email_verified_at = user.email_verified_at or now
    session.add(user)
    await revoke_sessions(session, user=user)
    await session.flush()
    return user

