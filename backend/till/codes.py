"""Short codes a cashier can type: Crockford base32, 8 characters, shown as XXXX-XXXX."""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 8
# Crockford's decoding rules: letters people confuse with digits read as those digits.
_CONFUSABLE = str.maketrans({"I": "1", "L": "1", "O": "0"})
_VALID = frozenset(ALPHABET)


def new_short_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def format_short_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def normalise_short_code(typed: str) -> str | None:
    """The stored form of a typed code, or None when it cannot be one."""
    cleaned = typed.strip().upper().replace("-", "").replace(" ", "").translate(_CONFUSABLE)
    if len(cleaned) != LENGTH or not set(cleaned) <= _VALID:
        return None
    return cleaned
