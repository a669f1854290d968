"""Password hashing (Argon2id) and the password policy.

Hashing costs tens of milliseconds of CPU by design, so the async helpers run it in a
worker thread (the argon2 bindings release the GIL) instead of stalling the event loop
for every other request.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from backend.auth.errors import PasswordTooWeak

MIN_PASSWORD_LENGTH = 10
# Argon2 copes with any length; the cap only stops a megabyte "password" from being hashed.
MAX_PASSWORD_LENGTH = 1024

_hasher = PasswordHasher()


def set_hasher(hasher: PasswordHasher) -> None:
    """Swap the cost parameters (tests use a cheap hasher; stored hashes stay verifiable)."""
    global _hasher
    _hasher = hasher
    _dummy_hash.cache_clear()


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordTooWeak(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordTooWeak(f"Use at most {MAX_PASSWORD_LENGTH} characters.")
    if not password.strip():
        raise PasswordTooWeak("The password cannot be only spaces.")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("kernpunt-no-such-user")


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    """Verify ``password``; with no hash (unknown user) burn the same time and fail,
    so response times do not tell which e-mail addresses have an account."""
    if password_hash is None:
        await asyncio.to_thread(verify_password, _dummy_hash(), password)
        return False
    return await asyncio.to_thread(verify_password, password_hash, password)
