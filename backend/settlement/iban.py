"""IBAN (ISO 13616, mod-97) and BIC (ISO 9362) checks, small enough to keep in-house."""

from __future__ import annotations

import re

from backend.settlement.errors import InvalidBic, InvalidIban

# Lengths of the SEPA countries' IBANs; an unknown country only gets the generic checks.
IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
    "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28,
    "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31,
    "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
    "VA": 22,
}
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
_BIC = re.compile(r"^[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?$")


def normalize_iban(value: str) -> str:
    return re.sub(r"\s+", "", value).upper()


def iban_problem(value: str | None) -> str | None:
    """Why ``value`` is not a valid IBAN, or None when it is."""
    if not value:
        return "no IBAN"
    iban = normalize_iban(value)
    if not _IBAN.match(iban):
        return "not shaped like an IBAN"
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return f"a {iban[:2]} IBAN has {expected} characters"
    digits = "".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])
    if int(digits) % 97 != 1:
        return "check digits do not match"
    return None


def valid_iban(value: str) -> str:
    problem = iban_problem(value)
    if problem:
        raise InvalidIban(f"{value!r}: {problem}.")
    return normalize_iban(value)


def valid_bic(value: str) -> str:
    bic = value.strip().upper()
    if not _BIC.match(bic):
        raise InvalidBic(f"{value!r} is not an 8 or 11 character BIC.")
    return bic
