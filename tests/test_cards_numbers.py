"""Card numbers: 13 digits, a town prefix, a Luhn check digit that catches typing errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.cards.errors import CardNumberInvalid
from backend.cards.numbers import (
    format_card_number,
    luhn_check_digit,
    luhn_valid,
    new_card_number,
    normalise_card_number,
    qr_text,
    tenant_prefix,
    validate_card_number,
)

tenant_ids = st.integers(min_value=1, max_value=10**6)
valid_numbers = st.builds(
    lambda prefix, body: prefix + body + luhn_check_digit(prefix + body),
    st.integers(100, 999).map(str),
    st.text("0123456789", min_size=9, max_size=9),
)


def test_known_luhn_numbers() -> None:
    # Classic published examples: a Visa test number and the Luhn article's example.
    assert luhn_valid("4111111111111111")
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert luhn_check_digit("7992739871") == "3"


@given(tenant_ids)
def test_new_numbers_are_13_digits_with_the_tenant_prefix_and_a_valid_check_digit(
    tenant_id: int,
) -> None:
    number = new_card_number(tenant_id)
    assert len(number) == 13 and number.isdigit()
    assert number.startswith(tenant_prefix(tenant_id))
    assert luhn_valid(number)
    assert validate_card_number(number) == number


def test_prefix_is_fixed_per_tenant_three_digits_without_leading_zero() -> None:
    assert tenant_prefix(1) == "100"
    assert tenant_prefix(900) == "999"
    assert tenant_prefix(901) == "100"
    assert {len(tenant_prefix(t)) for t in range(1, 2000)} == {3}
    assert tenant_prefix(42) == tenant_prefix(42)


def test_new_numbers_are_random() -> None:
    numbers = {new_card_number(7) for _ in range(2000)}
    assert len(numbers) == 2000


@given(valid_numbers, st.integers(0, 12), st.integers(1, 9))
def test_every_single_digit_typo_is_caught(number: str, position: int, shift: int) -> None:
    typo = number[:position] + str((int(number[position]) + shift) % 10) + number[position + 1 :]
    assert typo != number
    assert not luhn_valid(typo)
    with pytest.raises(CardNumberInvalid):
        validate_card_number(typo)


@given(valid_numbers, st.integers(0, 11))
def test_adjacent_transpositions_are_caught_except_09(number: str, position: int) -> None:
    a, b = number[position], number[position + 1]
    swapped = number[:position] + b + a + number[position + 2 :]
    if a == b:
        assert swapped == number
    elif {a, b} == {"0", "9"}:
        # The one blind spot of Luhn: 0 and 9 both contribute 0/9 whether doubled or not.
        assert luhn_valid(swapped)
    else:
        assert not luhn_valid(swapped)


@pytest.mark.parametrize(
    "typed",
    [
        "9123456789012",
        "912 3456 7890 12",
        " 912-3456-7890-12 ",
        "912.3456.7890.12",
        "KPC1:9123456789012",
        "kpc1:912 3456 7890 12",
    ],
)
def test_typed_and_scanned_forms_are_normalised(typed: str) -> None:
    assert normalise_card_number(typed) == "9123456789012"


@pytest.mark.parametrize(
    "bad",
    ["", "12345", "91234567890123", "912345678901x", "９１２３４５６７８９０１２", "KPW1:abc"],
)
def test_malformed_numbers_are_refused(bad: str) -> None:
    with pytest.raises(CardNumberInvalid) as caught:
        validate_card_number(bad)
    assert caught.value.status == 422 and caught.value.code == "card_number_invalid"


def test_printed_groups_and_qr_text() -> None:
    number = new_card_number(12)
    assert format_card_number(number).replace(" ", "") == number
    assert [len(g) for g in format_card_number(number).split(" ")] == [3, 4, 4, 2]
    assert qr_text(number) == f"KPC1:{number}"
    assert validate_card_number(format_card_number(number)) == number
