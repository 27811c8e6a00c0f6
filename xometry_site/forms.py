"""The form kit every blueprint's forms share (fields, filters, menus), so each rule is written once."""

from __future__ import annotations

import unicodedata

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from .services.validators import InvalidPhone, normalize_phone

MOBILE_MESSAGE = _l("Please enter a Chinese mobile number, such as 138 1234 5678.")

# Characters any one text field may carry: far above every field's own limit (the longest is
# 5,000), so only a pasted file or a forged request meets it.
MAX_TEXT_LENGTH = 10_000


class SiteForm(FlaskForm):
    """The base of every form here: a text field over MAX_TEXT_LENGTH is refused, not echoed.

    The value is dropped before any validator sees it, so neither the checks nor the page that
    shows the form again handle the oversized text; the field gets one error saying the limit.
    """

    def validate(self, extra_validators=None) -> bool:
        oversized = [field for field in self if _too_long(field)]
        for field in oversized:
            field.raw_data = []
            field.data = "" if isinstance(field, StringField) else None
        valid = super().validate(extra_validators)
        for field in oversized:
            field.errors = [
                _("This is too long: at most %(limit)s characters.", limit=f"{MAX_TEXT_LENGTH:,}")
            ]
        return valid and not oversized


def _too_long(field) -> bool:
    """A field whose submitted text is over the limit (uploaded files are not text)."""
    return any(
        isinstance(value, str) and len(value) > MAX_TEXT_LENGTH for value in field.raw_data or ()
    )


def policy_consent_field() -> BooleanField:
    """The unticked, required "I accept the policy" box of every way to open an account."""
    return BooleanField(
        _l("I have read and accept the Data Protection Policy."),
        [DataRequired(message=_l("To register, please accept the Data Protection Policy."))],
    )


def adult_consent_field() -> BooleanField:
    """The unticked, required age box (policy section 6: no services for minors)."""
    return BooleanField(
        _l("I am 18 or older, or I act for an organisation."),
        [
            DataRequired(
                message=_l(
                    "Please confirm that you are 18 or older or act for an organisation: "
                    "our services are not meant for minors."
                )
            )
        ],
    )


def choices(pairs, blank_label=None) -> list:
    """Menu options from (value, label) pairs, after an empty "please choose" one if given."""
    options = [SelectChoice("", blank_label)] if blank_label is not None else []
    return [*options, *(SelectChoice(value, label) for value, label in pairs)]


def strip(value):
    """Leading and trailing spaces are never part of what was meant."""
    return value.strip() if isinstance(value, str) else value


def blank_is_none(value):
    """An optional field left empty is stored as nothing, not as an empty string."""
    return strip(value) or None


def nfkc_strip(value):
    """Full-width digits and letters from a Chinese input method become ASCII."""
    return strip(unicodedata.normalize("NFKC", value)) if isinstance(value, str) else value


def nfkc_blank_is_none(value):
    """Optional codes typed with a Chinese input method: ASCII, or nothing."""
    return nfkc_strip(value) or None


class PhoneNumberField(TelField):
    """A Chinese phone number as typed (kept for the form); `e164` holds it normalised once valid.

    Mobile numbers only unless `allow_landline`; the typed value is what the page shows again.
    """

    e164: str | None = None

    def __init__(self, label=None, validators=None, *, allow_landline=False, message=None, **kw):
        kw.setdefault("filters", [strip])
        super().__init__(label, validators, **kw)
        self.allow_landline = allow_landline
        self.invalid_message = message or MOBILE_MESSAGE

    def post_validate(self, form, validation_stopped: bool) -> None:
        self.e164 = None
        if validation_stopped or self.errors:
            return
        try:
            self.e164 = normalize_phone(self.data or "", allow_landline=self.allow_landline)
        except InvalidPhone:
            self.errors.append(self.invalid_message)


class MenuField(SelectField):
    """A select whose answer is looked up among its menu's values. WTForms' own check builds
    every option (label, attributes, selected or not) to find the answer, which the live price
    paid on each change of a part's options; an answer not found gets WTForms' own refusal."""

    def pre_validate(self, form) -> None:
        choices = self.choices
        found = (
            not self.process_errors
            and self.validate_choice
            and isinstance(choices, list)
            and self.data in {self.coerce(getattr(c, "value", c)) for c in choices}
        )
        if not found:
            super().pre_validate(form)


class MultiCheckboxField(SelectMultipleField):
    """Several choices as a list of tick boxes (a multiple <select> is unusable on a phone)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def sms_code_field() -> StringField:
    """The six digits of a code sent by text message (every form that asks for one)."""
    return StringField(
        _l("SMS verification code"),
        validators=[
            InputRequired(_l("Please enter the 6-digit code we sent to your phone.")),
            Regexp(r"^\s*\d{6}\s*$", message=_l("The code has 6 digits.")),
        ],
        filters=[nfkc_strip],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": 6},
    )


def mobile_field(label=None, **kw) -> PhoneNumberField:
    """A required Chinese mobile number (the number a code is sent to)."""
    return PhoneNumberField(
        label or _l("Mobile phone number"),
        validators=[
            InputRequired(_l("Please enter your mobile number.")),
            Length(max=32, message=MOBILE_MESSAGE),
        ],
        render_kw={"autocomplete": "tel"},
        **kw,
    )
