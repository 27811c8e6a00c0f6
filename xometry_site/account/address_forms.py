"""The shipping address form (policy 1.4)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..forms import PhoneNumberField, SiteForm, blank_is_none, nfkc_strip, strip
from ..services.validators import is_valid_postal_code
from .division_fields import DivisionFieldsMixin


class AddressForm(DivisionFieldsMixin, SiteForm):
    """A shipping address (policy 1.4): the province/city pair is checked by the view, not here."""

    organization = StringField(
        _l("Organization"), filters=[blank_is_none], validators=[Optional(), Length(max=200)]
    )
    recipient = StringField(
        _l("Recipient"),
        filters=[strip],
        validators=[DataRequired(_l("Please enter the recipient's name.")), Length(max=100)],
    )
    address = StringField(
        _l("Street address"),
        filters=[strip],
        validators=[
            DataRequired(_l("Please enter the street address.")),
            Length(max=300),
        ],
    )
    phone = PhoneNumberField(
        _l("Phone"),
        validators=[DataRequired(_l("Please enter a phone number.")), Length(max=32)],
        allow_landline=True,
        message=_l("Please enter a Chinese mobile number or a landline with its area code."),
    )
    postal_code = StringField(
        _l("Postal code"),
        filters=[nfkc_strip],
        validators=[DataRequired(_l("Please enter the postal code."))],
    )
    is_default = BooleanField(_l("Use as my default shipping address"))
    submit = SubmitField(_l("Save address"))

    def validate_postal_code(self, field) -> None:
        """Six digits after full-width digits became ASCII (the filter did that)."""
        if not is_valid_postal_code(field.data):
            raise ValidationError(_l("A postal code has six digits."))
