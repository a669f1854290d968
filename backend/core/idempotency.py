"""Idempotency keys: chosen by the caller, one per value-moving request.

The same key with the same request returns the original result; the same key with a
different request is a 409. The request is fingerprinted by a SHA-256 over a canonical
JSON rendering, so field order and whitespace do not matter.
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Any

import orjson
from fastapi import Header

from backend.core.errors import IdempotencyKeyInvalid, IdempotencyKeyMissing

_KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:\-]{8,120}$")


def validate_idempotency_key(value: str | None) -> str:
    if value is None or value == "":
        raise IdempotencyKeyMissing(
            "Send an Idempotency-Key header (8-120 characters: letters, digits, . _ : -), "
            "a new one for each intended operation."
        )
    if not _KEY_PATTERN.match(value):
        raise IdempotencyKeyInvalid(
            "The Idempotency-Key must be 8-120 characters of letters, digits, '.', '_', ':' or '-'."
        )
    return value


async def idempotency_key_header(
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Unique per intended operation; a retry with the same key never counts twice.",
        ),
    ] = None,
) -> str:
    return validate_idempotency_key(idempotency_key)


def request_fingerprint(operation: str, payload: dict[str, Any]) -> str:
    canonical = orjson.dumps({"op": operation, "payload": payload}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()
