"""Card numbers: 13 digits = a 3-digit town prefix, 9 random digits, a Luhn check digit.

The check digit is there for the typed fallback at the till: a cashier who mistypes one
digit, or swaps two neighbouring digits (except 0 and 9), gets "check the number"
instead of somebody else's card. The prefix only makes a town's cards look alike; a
number is unique per tenant and every lookup is scoped by tenant, so two towns sharing
a prefix (there are only 900) is harmless.
"""

from __future__ import annotations

import re
import secrets

from backend.cards.errors import CardNumberInvalid

NUMBER_LENGTH = 13
PREFIX_LENGTH = 3
RANDOM_LENGTH = NUMBER_LENGTH - PREFIX_LENGTH - 1
QR_PREFIX = "KPC1:"
# Printed as "912 3456 7890 12": short groups are read out and typed without losing place.
GROUPS = (3, 4, 4, 2)

# What a human or a keyboard-wedge scanner may put between digits.
_SEPARATORS = re.compile(r"[\s.\-]+")


def luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload + digit`` pass the Luhn check."""
    total = 0
    # Walking from the right, the digit next to the (future) check digit is doubled.
    for index, char in enumerate(reversed(payload)):
        digit = ord(char) - 48
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return (
        len(number) >= 2
        and number.isascii()
        and number.isdigit()
        and luhn_check_digit(number[:-1]) == number[-1]
    )


def tenant_prefix(tenant_id: int) -> str:
    """A fixed 3-digit prefix per town, 100-999 (no leading zero a spreadsheet would eat)."""
    return str(100 + (tenant_id - 1) % 900)


def new_card_number(tenant_id: int) -> str:
    payload = tenant_prefix(tenant_id) + "".join(
        secrets.choice("0123456789") for _ in range(RANDOM_LENGTH)
    )
    return payload + luhn_check_digit(payload)


def normalise_card_number(text: str) -> str:
    """Digits only: drops spaces, dots, dashes and a scanned ``KPC1:`` prefix."""
    text = text.strip()
    if text[: len(QR_PREFIX)].upper() == QR_PREFIX:
        text = text[len(QR_PREFIX) :]
    return _SEPARATORS.sub("", text)


def validate_card_number(text: str) -> str:
    """The 13-digit card number in ``text``, or 422 ``card_number_invalid``."""
    number = normalise_card_number(text)
    if len(number) != NUMBER_LENGTH or not (number.isascii() and number.isdigit()):
        raise CardNumberInvalid(f"A card number has {NUMBER_LENGTH} digits.")
    if not luhn_valid(number):
        raise CardNumberInvalid("This card number has a typing error: check the digits.")
    return number


def format_card_number(number: str) -> str:
    """``9123456789012`` -> ``912 3456 7890 12``."""
    parts, start = [], 0
    for size in GROUPS:
        parts.append(number[start : start + size])
        start += size
    return " ".join(parts)


def last4(number: str) -> str:
    return number[-4:]


def qr_text(number: str) -> str:
    return QR_PREFIX + number
