"""POS API keys: how a till integration authenticates as a cashier of one shop.

A raw key looks like ``kp_pos_<prefix>_<secret>``. The prefix is a public, unique
lookup handle (also shown in lists so an owner can tell keys apart); only a SHA-256
digest of the whole key is stored, and the raw key is shown once, at creation.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import Principal, keep_caller_merchant
from backend.auth.errors import ApiKeyInvalid, ApiKeyNotFound, MerchantNotFound, MerchantSuspended
from backend.auth.models import PosApiKey, Role
from backend.core.errors import Forbidden
from backend.core.types import utcnow
from backend.merchants.models import Merchant, MerchantStatus

KEY_SCHEME = "kp_pos_"
PREFIX_LENGTH = 10
# Letters and digits only, so the prefix never contains the "_" that separates it from
# the secret, and reads unambiguously in a list of keys.
_PREFIX_ALPHABET = string.ascii_letters + string.digits
_MAX_PREFIX_ATTEMPTS = 5


def _digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _new_prefix() -> str:
    return "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))


def parse_prefix(raw_key: str) -> str | None:
    """The lookup prefix of a well-formed key, else None."""
    if not raw_key.startswith(KEY_SCHEME):
        return None
    rest = raw_key[len(KEY_SCHEME) :]
    prefix, separator, secret = (
        rest[:PREFIX_LENGTH],
        rest[PREFIX_LENGTH : PREFIX_LENGTH + 1],
        rest[PREFIX_LENGTH + 1 :],
    )
    if len(prefix) != PREFIX_LENGTH or separator != "_" or not secret:
        return None
    return prefix


async def merchant_for_key_management(
    session: AsyncSession, *, actor: Principal, merchant_id: int, write: bool
) -> Merchant:
    """The merchant whose keys ``actor`` wants to see or change.

    A merchant of another municipality is "not found" rather than "forbidden", so one
    municipality cannot learn which merchant ids exist in another.
    """
    merchant = await session.scalar(
        select(Merchant).where(Merchant.tenant_id == actor.tenant_id, Merchant.id == merchant_id)
    )
    if merchant is None:
        raise MerchantNotFound()
    if actor.is_pos_key:
        raise Forbidden("A till key cannot manage API keys.")
    if actor.role is Role.MUNICIPALITY_ADMIN:
        return merchant
    if actor.role is Role.AUDITOR and not write:
        return merchant
    if actor.role is Role.MERCHANT_OWNER and actor.merchant_id == merchant.id:
        return merchant
    raise Forbidden("Only the owner of this shop or a municipality administrator manages its keys.")


async def create_pos_api_key(
    session: AsyncSession,
    *,
    tenant_id: int,
    merchant_id: int,
    name: str,
    created_by_user_id: int | None,
) -> tuple[PosApiKey, str]:
    """A new key and its raw value; the raw value cannot be recovered later."""
    found = await session.scalar(
        select(Merchant.id).where(Merchant.tenant_id == tenant_id, Merchant.id == merchant_id)
    )
    if found is None:
        raise MerchantNotFound()
    for attempt in range(_MAX_PREFIX_ATTEMPTS):
        prefix = _new_prefix()
        raw_key = f"{KEY_SCHEME}{prefix}_{secrets.token_urlsafe(32)}"
        key = PosApiKey(
            tenant_id=tenant_id,
            merchant_id=merchant_id,
            name=name.strip(),
            prefix=prefix,
            key_hash=_digest(raw_key),
            created_by_user_id=created_by_user_id,
        )
        try:
            async with session.begin_nested():
                session.add(key)
        except IntegrityError:
            # 62**10 prefixes make a collision all but impossible; draw again if it happens.
            if attempt + 1 == _MAX_PREFIX_ATTEMPTS:
                raise
            continue
        return key, raw_key
    raise AssertionError("unreachable")  # pragma: no cover


async def principal_from_api_key(session: AsyncSession, *, raw_key: str) -> Principal:
    """The till a key stands for. The key's shop comes in the same query (and stays in
    the session's identity map for the till's own ``session.get``), so refusing a key of
    a shop that is not active costs no extra round trip on the earn path."""
    prefix = parse_prefix(raw_key)
    if prefix is None:
        raise ApiKeyInvalid("The API key is malformed.")
    row = (
        await session.execute(
            select(PosApiKey, Merchant)
            .join(
                Merchant,
                (Merchant.id == PosApiKey.merchant_id) & (Merchant.tenant_id == PosApiKey.tenant_id),
            )
            .where(PosApiKey.prefix == prefix)
        )
    ).first()
    if row is None or not hmac.compare_digest(row[0].key_hash, _digest(raw_key)):
        raise ApiKeyInvalid()
    key, merchant = row
    keep_caller_merchant(session, merchant)
    if key.revoked_at is not None:
        raise ApiKeyInvalid("The API key has been revoked.")
    if merchant.status != MerchantStatus.ACTIVE:
        raise MerchantSuspended(
            f"This key's shop is {merchant.status}: its till keys are refused until the "
            "municipality reactivates it.",
            merchant_status=merchant.status,
        )
    assert key.id is not None
    return Principal(
        tenant_id=key.tenant_id, role=Role.CASHIER, merchant_id=key.merchant_id, api_key_id=key.id
    )


async def list_pos_api_keys(
    session: AsyncSession, *, tenant_id: int, merchant_id: int
) -> list[PosApiKey]:
    """All keys of a merchant, newest first, revoked ones included (for the audit trail)."""
    result = await session.scalars(
        select(PosApiKey)
        .where(PosApiKey.tenant_id == tenant_id, PosApiKey.merchant_id == merchant_id)
        .order_by(PosApiKey.id.desc())
    )
    return list(result)


async def revoke_pos_api_key(
    session: AsyncSession, *, tenant_id: int, merchant_id: int, key_id: int
) -> PosApiKey:
    """Revoke a key at once; revoking a revoked key changes nothing."""
    key = await session.scalar(
        select(PosApiKey).where(
            PosApiKey.tenant_id == tenant_id,
            PosApiKey.merchant_id == merchant_id,
            PosApiKey.id == key_id,
        )
    )
    if key is None:
        raise ApiKeyNotFound()
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await session.flush()
    return key
