"""Card PINs: how they are chosen, stored and checked.

Choosing. A PIN is 4 digits produced by a keyed PRF (HMAC-SHA256) over the card's
tenant, batch and number, under a key derived from the server's signing key. To anyone
without that key it is uniformly random; to the server it is reproducible, which is
what lets the admin download the batch's PIN sheet again for ``SHEET_TTL`` after the
batch was made (a printer jam, a lost download) without the database ever holding a
plaintext or decryptable PIN. After ``SHEET_TTL`` the API refuses to print PINs again.
When the signing key that made a batch is rotated out, its sheet is gone for good.

Why this and not "keep the PINs encrypted for 24 h": that needs a column (or table)
the schema does not have, and a DB + key leak reveals the PINs under either scheme,
because a 4-digit PIN's hash falls to 10,000 guesses whatever the hash costs. What
the derivation adds over an expiring ciphertext is only that the server could re-print
an old batch's PINs; the API does not, and a follow-up can close even that by mixing
a per-batch random seed (a new ``card_batch`` column, wiped after ``SHEET_TTL``) into
the derivation - the code below takes the seed as bytes already.

Storing. The database keeps an Argon2id hash, so a database read alone does not list
the PINs. Its cost is deliberately lower than for passwords (~6 ms instead of ~100 ms
on one core): against a stolen hash no affordable cost protects a 10,000-value space
(at 100 ms it is 17 minutes per card), while the batch endpoint hashes up to 500 PINs
in one request. The PIN's real protection is online: 5 wrong attempts lock the card
(see ``service.check_card_pin``), which leaves a thief 5 guesses per 15 minutes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

PIN_LENGTH = 4
_PIN_SPACE = 10**PIN_LENGTH
# Largest multiple of 10,000 below 2**32: values above it are re-drawn, so no PIN is
# more likely than another.
_UNBIASED_LIMIT = (2**32 // _PIN_SPACE) * _PIN_SPACE
_PIN_FORMAT = re.compile(r"^[0-9]{4}$")

PIN_HASHER = PasswordHasher(time_cost=2, memory_cost=8 * 1024, parallelism=1)
# Verified instead of the card's hash when the input cannot be a PIN at all, so a
# malformed PIN takes as long to refuse as a wrong one.
_DUMMY_HASH = PIN_HASHER.hash("not-a-pin")


def pin_key(secret: str, *, seed: bytes = b"") -> bytes:
    """The PIN-derivation key: never the signing key itself (one key, one purpose)."""
    return hmac.new(secret.encode(), b"kernpunt/card-pin/v1|" + seed, hashlib.sha256).digest()


def derive_pin(key: bytes, *, tenant_id: int, batch_id: int, number: str) -> str:
    counter = 0
    while True:
        message = f"{tenant_id}:{batch_id}:{number}:{counter}".encode()
        value = int.from_bytes(hmac.new(key, message, hashlib.sha256).digest()[:4], "big")
        if value < _UNBIASED_LIMIT:
            return f"{value % _PIN_SPACE:0{PIN_LENGTH}d}"
        counter += 1


def hash_pin(pin: str) -> str:
    return PIN_HASHER.hash(pin)


async def hash_pins(pins: list[str]) -> list[str]:
    """Hash many PINs on a few worker threads (argon2 releases the GIL), one per core,
    leaving the rest of the default executor free for other requests."""
    if not pins:
        return []
    workers = max(1, min(os.cpu_count() or 1, 4, len(pins)))
    chunk = -(-len(pins) // workers)
    parts = [pins[i : i + chunk] for i in range(0, len(pins), chunk)]
    hashed = await asyncio.gather(
        *(asyncio.to_thread(lambda part=part: [hash_pin(p) for p in part]) for part in parts)
    )
    return [h for part in hashed for h in part]


def _verify(pin_hash: str, pin: str) -> bool:
    if not _PIN_FORMAT.match(pin):
        _safe_verify(_DUMMY_HASH, pin)
        return False
    return _safe_verify(pin_hash, pin)


def _safe_verify(pin_hash: str, pin: str) -> bool:
    try:
        return PIN_HASHER.verify(pin_hash, pin)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_pin(pin_hash: str, pin: str) -> bool:
    return await asyncio.to_thread(_verify, pin_hash, pin)
