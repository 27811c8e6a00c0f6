"""Identifiers typed into our forms: credit codes, ID numbers, phones, postcodes; and masks."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xometry_site.services.validators import (
    InvalidPhone,
    is_mobile,
    is_valid_postal_code,
    is_valid_resident_id,
    is_valid_uscc,
    mask_phone,
    mask_secret,
    normalize_phone,
    normalize_uscc,
)

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


# Test-side reference, written differently from the service: the check character is the one that
# makes (weighted sum of the first 17 + its own value) a multiple of 31, found by search rather than
# by the standard's 31 - (sum mod 31); the weights are the powers of 3 modulo 31.
def reference_uscc(first17: str) -> str:
    weights = [pow(3, i, 31) for i in range(17)]  # 1, 3, 9, 27, 19, 26, ... as in the standard
    total = sum(CHARSET.index(c) * w for c, w in zip(first17, weights, strict=True))
    [check] = [c for c in CHARSET if (total + CHARSET.index(c)) % 31 == 0]
    return first17 + check


uscc_bodies = st.text(alphabet=CHARSET, min_size=17, max_size=17)


def test_reference_weights_are_the_ones_printed_in_the_standard():
    printed = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    assert [pow(3, i, 31) for i in range(17)] == printed


def test_the_briefs_example_code_passes_and_its_check_was_computed_by_hand():
    # 9 1 3 5 0 1 0 0 M=21 0 0 0 1 0 0 Y=30 4, times the weights, sums to 1640;
    # 1640 mod 31 = 28; 31 - 28 = 3, and the code ends in 3.
    assert is_valid_uscc("91350100M000100Y43")


def test_a_code_with_the_wrong_check_character_fails():
    # Its weighted sum asks for check character 4, not 8.
    assert not is_valid_uscc("911100001000184208")
    assert is_valid_uscc("911100001000184204")


@pytest.mark.parametrize(
    "typed",
    [
        "91350100m000100y43",
        " 9135 0100 M000 100Y 43 ",
        "9135-0100-M000-100Y43",
        "９１３５０１００Ｍ０００１００Ｙ４３",
    ],
)
def test_codes_typed_in_lower_case_with_spaces_or_full_width_are_normalised(typed):
    assert normalize_uscc(typed) == "91350100M000100Y43"
    assert is_valid_uscc(typed)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "91350100M000100Y4",
        "91350100M000100Y433",
        "91350100M00010OY43",
        "91350100M000100I43",
        None,
    ],
)
def test_wrong_length_or_letters_outside_the_charset_fail(bad):
    assert not is_valid_uscc(bad)


@given(uscc_bodies)
def test_every_code_built_by_the_standard_passes(body):
    assert is_valid_uscc(reference_uscc(body))


@given(uscc_bodies, st.integers(min_value=0, max_value=17), st.sampled_from(CHARSET + "IOSVZ"))
def test_any_single_character_change_fails(body, position, replacement):
    code = reference_uscc(body)
    if code[position] == replacement:
        replacement = CHARSET[(CHARSET.index(replacement) + 1) % 31]
    changed = code[:position] + replacement + code[position + 1 :]
    assert not is_valid_uscc(changed)


# --- resident ID numbers -------------------------------------------------------------------------


def reference_resident_id(first17: str) -> str:
    """ISO 7064 MOD 11-2 as GB 11643 states it: sum of a_i * 2^(18-i) over all 18 is 1 mod 11."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    [check] = [c for c, v in zip("0123456789X", range(11), strict=True) if (total + v) % 11 == 1]
    return first17 + check


def test_the_standards_own_examples_are_valid():
    # GB 11643-1999 prints these two numbers as examples.
    assert is_valid_resident_id("11010519491231002X")
    assert is_valid_resident_id("11010519491231002x")
    assert is_valid_resident_id("440524188001010014")


@pytest.mark.parametrize(
    "bad",
    [
        "110105194912310021",  # wrong check character
        "11010519491331002X",  # month 13
        "11010519490230002X",  # 30 February
        "99010519491231002X",  # no province 99
        "11010519491231002",  # 17 characters
        "1101051949123100X2",  # X not in last place
        "",
    ],
)
def test_malformed_id_numbers_fail(bad):
    assert not is_valid_resident_id(bad)


def test_a_birth_date_in_the_future_fails():
    number = reference_resident_id("11010520300101001")
    assert not is_valid_resident_id(number, today=date(2025, 1, 1))
    assert is_valid_resident_id(number, today=date(2031, 1, 1))


@given(
    st.sampled_from(["110105", "440305", "650102", "810000"]),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)),
    st.integers(min_value=0, max_value=999),
)
def test_generated_id_numbers_pass_and_a_changed_digit_fails(area, born, sequence):
    number = reference_resident_id(f"{area}{born:%Y%m%d}{sequence:03d}")
    assert is_valid_resident_id(number)
    flipped = number[:16] + str((int(number[16]) + 1) % 10) + number[17]
    assert not is_valid_resident_id(flipped)


def test_a_unified_social_credit_code_is_not_taken_for_an_id_number():
    assert not is_valid_resident_id("91350100M000100Y43")


# --- postcodes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("100000", True),
        (" 518000 ", True),
        ("５１８０００", True),
        ("51800", False),
        ("5180001", False),
        ("51800a", False),
        ("٥١٨٠٠٠", False),
        ("", False),
    ],
)
def test_postal_codes_are_six_digits(value, ok):
    assert is_valid_postal_code(value) is ok


# --- phones -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "13812345678",
        "+86 138 1234 5678",
        "86-138-1234-5678",
        "0086 138 1234 5678",
        "(+86) 138-1234-5678",
        "１３８１２３４５６７８",
    ],
)
def test_mobile_numbers_in_every_usual_spelling_become_e164(typed):
    assert normalize_phone(typed, allow_landline=False) == "+8613812345678"
    assert normalize_phone(typed, allow_landline=True) == "+8613812345678"


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("010-12345678", "+861012345678"),
        ("(010) 1234 5678", "+861012345678"),
        ("0755-12345678", "+8675512345678"),
        ("+86 21 1234 5678", "+862112345678"),
    ],
)
def test_landlines_are_accepted_only_when_allowed(typed, e164):
    assert normalize_phone(typed, allow_landline=True) == e164
    with pytest.raises(InvalidPhone):
        normalize_phone(typed, allow_landline=False)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "1381234567",  # ten digits
        "138123456789",  # twelve digits
        "12345678901",  # no such mobile prefix
        "95588",  # bank service number
        "4008123123",  # 400 number
        "+852 9123 4567",  # Hong Kong mobile
        "+1 650 253 0000",  # United States
        "010-12345678-801",  # with an extension
        "138 1234 5678 call me",
        "138abc12345678",
    ],
)
def test_anything_else_is_refused(typed):
    with pytest.raises(InvalidPhone):
        normalize_phone(typed, allow_landline=True)


def test_mobile_detection_on_stored_numbers():
    assert is_mobile("+8613812345678")
    assert not is_mobile("+861012345678")


def test_masks_keep_only_what_recognises_the_value():
    assert mask_phone("+8613812345678") == "+86 138****5678"
    assert mask_phone("+861012345678").endswith("5678")
    assert "1234" not in mask_phone("+861012345678")[:-4]
    assert mask_secret("6222021234567891234") == "***************1234"
    assert mask_secret("91350100M000100Y43", keep=4) == "**************0Y43"
    assert mask_secret("123") == "***"
    assert mask_secret("abcdef", keep=0) == "******"
    assert mask_secret("") == ""
