"""Access tokens: short-lived HS256 JWTs, verified on every request without the database.

The header's ``kid`` names the key that signed the token. New tokens are signed with
the first configured key; any configured key verifies, so a key can be rotated by
putting the new one first and removing the old one after one token lifetime.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from backend.auth.deps import Principal
from backend.auth.errors import TokenExpired, TokenInvalid
from backend.auth.models import Role
from backend.config import Settings

ALGORITHM = "HS256"
TOKEN_TYPE = "access"
# Servers behind one load balancer may disagree on the time by a few seconds.
CLOCK_SKEW_SECONDS = 5
_REQUIRED_CLAIMS = ["sub", "tid", "role", "iat", "exp", "typ", "jti"]
_ROLES = {role.value: role for role in Role}


@dataclass(frozen=True, slots=True)
class _Keyring:
    signing_kid: str
    keys: dict[str, bytes]
    # Every token we sign under one kid starts with the same header segment; knowing
    # them saves parsing the header on every request (a third of the decode time).
    kid_by_header: dict[str, str]


_CACHE_LIMIT = 16
_keyrings: dict[tuple[tuple[tuple[str, str], ...], str | None], _Keyring] = {}


def signing_keyring(settings: Settings) -> _Keyring:
    """Cached on the configured keys because in dev mode ``signing_keys()`` reads a
    file, which must not happen on every request."""
    cache_key = (tuple(settings.jwt_keys.items()), settings.secret_key)
    keyring = _keyrings.get(cache_key)
    if keyring is None:
        configured = settings.signing_keys()
        if not configured:
            raise RuntimeError("no signing key configured")
        keys = {kid: secret.encode() for kid, secret in configured.items()}
        kid_by_header = {
            jwt.encode({}, key, algorithm=ALGORITHM, headers={"kid": kid}).partition(".")[0]: kid
            for kid, key in keys.items()
        }
        keyring = _Keyring(signing_kid=next(iter(keys)), keys=keys, kid_by_header=kid_by_header)
        if len(_keyrings) >= _CACHE_LIMIT:
            _keyrings.clear()
        _keyrings[cache_key] = keyring
    return keyring


def issue_access_token(
    *,
    settings: Settings,
    user_id: int,
    tenant_id: int,
    role: Role | str,
    merchant_id: int | None = None,
    shopper_id: int | None = None,
) -> tuple[str, int]:
    """A signed access token for the given principal and its lifetime in seconds."""
    keyring = signing_keyring(settings)
    kid = keyring.signing_kid
    ttl = settings.access_token_ttl_seconds
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "tid": tenant_id,
        "role": str(Role(role)),
        "iat": now,
        "exp": now + ttl,
        "typ": TOKEN_TYPE,
        "jti": uuid.uuid4().hex,
    }
    if merchant_id is not None:
        claims["mid"] = merchant_id
    if shopper_id is not None:
        claims["sid"] = shopper_id
    token = jwt.encode(claims, keyring.keys[kid], algorithm=ALGORITHM, headers={"kid": kid})
    return token, ttl


# A till sends the same token with every request for up to its lifetime; verifying the
# signature once per token and process saves most of the decode cost. Entries are keyed
# by keyring too, so retiring a key (a new keyring) stops accepting its tokens at once.
_VERIFIED_LIMIT = 20_000
_verified: dict[tuple[int, str], tuple[Principal, float]] = {}


def principal_from_access_token(token: str, *, settings: Settings) -> Principal:
    keyring = signing_keyring(settings)
    cached = _verified.get((id(keyring), token))
    if cached is not None:
        principal, expires_at = cached
        if time.time() < expires_at + CLOCK_SKEW_SECONDS:
            return principal
        del _verified[(id(keyring), token)]
    principal, expires_at = _verify(token, keyring)
    if len(_verified) >= _VERIFIED_LIMIT:
        _verified.clear()
    _verified[(id(keyring), token)] = (principal, expires_at)
    return principal


def _verify(token: str, keyring: _Keyring) -> tuple[Principal, float]:
    kid = keyring.kid_by_header.get(token.partition(".")[0]) or _parse_kid(token)
    key = keyring.keys.get(kid) if kid is not None else None
    if key is None:
        # Unknown kid: signed by a retired key or by somebody else; sign in again.
        raise TokenInvalid("The access token was signed with a key that is no longer accepted.")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": _REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpired("The access token has expired; refresh it or sign in again.") from exc
    except jwt.PyJWTError as exc:
        raise TokenInvalid() from exc
    return _principal_from_claims(claims), float(claims["exp"])


def _parse_kid(token: str) -> str | None:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenInvalid("The access token is malformed.") from exc
    kid = header.get("kid")
    return kid if isinstance(kid, str) else None


def _principal_from_claims(claims: dict[str, Any]) -> Principal:
    role = _ROLES.get(claims["role"]) if isinstance(claims["role"], str) else None
    if claims["typ"] != TOKEN_TYPE or role is None:
        raise TokenInvalid()
    try:
        user_id = int(claims["sub"])
        tenant_id = _int(claims["tid"])
        merchant_id = _optional_int(claims.get("mid"))
        shopper_id = _optional_int(claims.get("sid"))
    except (TypeError, ValueError) as exc:
        raise TokenInvalid() from exc
    return Principal(
        tenant_id=tenant_id,
        role=role,
        user_id=user_id,
        merchant_id=merchant_id,
        shopper_id=shopper_id,
    )


def _int(value: Any) -> int:
    # bool is an int in Python; a token saying "tid": true is forged, not tenant 1.
    if type(value) is not int:
        raise TypeError(value)
    return value


def _optional_int(value: Any) -> int | None:
    return None if value is None else _int(value)
