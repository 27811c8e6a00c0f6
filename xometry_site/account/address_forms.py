"""The shipping address form (policy 1.4)."""

from __future__ import annotations

import unicodedata

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, SubmitField, TelField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..services.validators import InvalidPhone, is_valid_postal_code, normalize_phone
from .division_fields import DivisionFieldsMixin
from .forms import _blank_is_none, _strip


def _nfkc_strip(value):
    """Full-width digits from a Chinese input method become ASCII."""
    return unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else value


class AddressForm(DivisionFieldsMixin, FlaskForm):
    organization = StringField(
        _l("Organization"), filters=[_blank_is_none], validators=[Optional(), Length(max=200)]
    )
    recipient = StringField(
        _l("Recipient"),
        filters=[_strip],
        validators=[DataRequired(_l("Please enter the recipient's name.")), Length(max=100)],
    )
    address = StringField(
        _l("Street address"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Please enter the street address.")),
            Length(max=300),
        ],
    )
    phone = TelField(
        _l("Phone"),
        filters=[_strip],
        validators=[DataRequired(_l("Please enter a phone number."))],
    )
    postal_code = StringField(
        _l("Postal code"),
        filters=[_nfkc_strip],
        validators=[DataRequired(_l("Please enter the postal code."))],
    )
    is_default = BooleanField(_l("Use as my default shipping address"))
    submit = SubmitField(_l("Save address"))

    def validate_phone(self, field) -> None:
        try:
            self.phone_e164 = normalize_phone(field.data, allow_landline=True)
        except InvalidPhone:
            raise ValidationError(
                _l("Please enter a Chinese mobile number or a landline with its area code.")
            ) from None

    def validate_postal_code(self, field) -> None:
        if not is_valid_postal_code(field.data):
            raise ValidationError(_l("A postal code has six digits."))
