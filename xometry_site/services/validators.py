"""Checks and masks for Chinese identifiers that forms accept: credit codes, IDs, phones, postcodes.

Every check first normalises what people actually type: full-width characters from a Chinese input
method (NFKC), lower-case letters, and spaces or hyphens between groups.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import phonenumbers
from phonenumbers import PhoneNumberType

from . import divisions

# --- Unified social credit code (统一社会信用代码), GB 32100-2015 ---

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_VALUES = {char: value for value, char in enumerate(USCC_CHARSET)}


def _squash(raw: str) -> str:
    """Full-width to ASCII, upper case, without the spaces and hyphens people group digits with."""
    text = unicodedata.normalize("NFKC", raw or "")
    return re.sub(r"[\s\-]", "", text).upper()


def normalize_uscc(raw: str) -> str:
    """The code as stored: 18 upper-case characters, whatever spacing or width it was typed in."""
    return _squash(raw)


def uscc_check_character(first17: str) -> str:
    """The 18th character of a code whose first 17 are given (GB 32100-2015, modulus 31)."""
    total = sum(
        _USCC_VALUES[char] * weight for char, weight in zip(first17, USCC_WEIGHTS, strict=True)
    )
    return USCC_CHARSET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    """True for an 18-character code in the GB 32100 character set whose check character matches.

    Because 31 is prime and no weight is a multiple of it, any single wrong character is caught.
    The embedded organisation code (characters 9-17) is not checked separately.
    """
    code = normalize_uscc(code)
    if len(code) != 18 or any(char not in _USCC_VALUES for char in code):
        return False
    return uscc_check_character(code[:17]) == code[17]


# --- Resident identity card number (公民身份号码), GB 11643-1999 ---

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"  # indexed by (weighted sum mod 11)
# Residence permits for Hong Kong, Macao and Taiwan residents: same format, these prefixes.
_PERMIT_PREFIXES = frozenset({"81", "82", "83"})


def _known_id_prefix(prefix: str) -> bool:
    """A provincial-level code of GB/T 2260 (first two digits) or a residence-permit prefix."""
    return prefix in _PERMIT_PREFIXES or divisions.get(prefix + "0000") is not None


def normalize_resident_id(raw: str) -> str:
    """18 characters, the check character X in upper case."""
    return _squash(raw)


def is_valid_resident_id(number: str, *, today: date | None = None) -> bool:
    """True for an 18-character national ID number: known province, real past birth date, check.

    Used to notice that a "tax number" on a personal invoice is really someone's ID number, which
    is sensitive personal information and needs separate consent.
    """
    number = normalize_resident_id(number)
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number) or not _known_id_prefix(number[:2]):
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if not date(1850, 1, 1) <= born <= (today or date.today()):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17]


# --- Postal code ------------------------------------------------------------------------------


def is_valid_postal_code(raw: str) -> bool:
    """Six ASCII digits after trimming, the format of every postcode in mainland China."""
    return re.fullmatch(r"[0-9]{6}", unicodedata.normalize("NFKC", raw or "").strip()) is not None


# --- Phone numbers ----------------------------------------------------------------------------


class InvalidPhone(ValueError):
    """The text is not a Chinese number of an accepted kind; the view shows its own message."""


_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_LANDLINE_TYPES = frozenset({PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_PHONE_CHARACTERS = re.compile(r"[0-9+\-\s().]{5,32}")


def normalize_phone(raw: str, *, allow_landline: bool) -> str:
    """E.164 form (+8613812345678) of a Chinese mobile, or landline when allowed; else InvalidPhone.

    Accepts 13812345678, +86 138 1234 5678, 86-138-1234-5678, 0086…, full-width digits, and
    landlines with their area code (010-12345678). Rejects extensions, service numbers (95588,
    400…), numbers of other countries and anything with letters in it.
    """
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if not _PHONE_CHARACTERS.fullmatch(text):
        raise InvalidPhone(raw)
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException as error:
        raise InvalidPhone(raw) from error
    if number.country_code != 86 or number.extension or not phonenumbers.is_valid_number(number):
        raise InvalidPhone(raw)
    kind = phonenumbers.number_type(number)
    accepted = _MOBILE_TYPES | _LANDLINE_TYPES if allow_landline else _MOBILE_TYPES
    if kind not in accepted:
        raise InvalidPhone(raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_mobile(e164: str) -> bool:
    """True when a stored E.164 number is a Chinese mobile (one that can receive an SMS)."""
    try:
        return normalize_phone(e164, allow_landline=False) == e164
    except InvalidPhone:
        return False


def mask_phone(e164: str) -> str:
    """ "+86 138****5678": enough to recognise one's own number, not enough to call it."""
    if e164.startswith("+86") and e164[3:].isdigit() and len(e164) > 10:
        national = e164[3:]
        return f"+86 {national[:3]}{'*' * (len(national) - 7)}{national[-4:]}"
    return mask_secret(e164, keep=4)


# --- Masks ------------------------------------------------------------------------------------


def mask_secret(value: str, keep: int = 4) -> str:
    """Stars for all but the last `keep` characters; a value that short is starred out entirely."""
    value = value or ""
    if keep <= 0 or len(value) <= keep:
        return "*" * len(value)
    return "*" * (len(value) - keep) + value[-keep:]
