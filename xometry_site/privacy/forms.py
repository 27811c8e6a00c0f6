"""Forms of the privacy center: each right is one small form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError

from ..services.privacy_requests import KIND_LABELS

WITHDRAWABLE = ("subscription", "cookies_functional", "sensitive_tax_id")


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token travels."""


class WithdrawForm(FlaskForm):
    """One click per consent: which kind travels in a hidden field."""

    kind = HiddenField(validators=[DataRequired()])

    def validate_kind(self, field) -> None:
        if field.data not in WITHDRAWABLE:
            raise ValidationError(_l("This consent cannot be withdrawn here."))


class DeleteAllDrawingsForm(FlaskForm):
    confirm = BooleanField(
        _l("Yes, delete all my drawings. I understand they cannot be recovered."),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )


class DeregisterForm(FlaskForm):
    confirm = BooleanField(
        _l("I understand that my account will be closed and my data erased as described above."),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )


class RequestForm(FlaskForm):
    """A data-protection request; visitors also give the address we verify by a code."""

    kind = RadioField(
        _l("What would you like?"),
        choices=list(KIND_LABELS.items()),
        validators=[DataRequired(_l("Choose what you would like."))],
    )
    processor = StringField(
        _l("Transfer to (name of the processor that should receive your information)"),
        validators=[Optional(), Length(max=200)],
    )
    details = TextAreaField(
        _l("Details"),
        validators=[Optional(), Length(max=5000)],
        description=_l("What should we know to handle your request?"),
    )
    email = StringField(
        _l("Your e-mail address"),
        validators=[Optional(), Email(_l("Enter a valid e-mail address.")), Length(max=254)],
    )

    def validate(self, extra_validators=None) -> bool:
        """A transfer names its recipient (checked here: an empty Optional field skips inline checks)."""
        valid = super().validate(extra_validators)
        if self.kind.data == "transfer" and not (self.processor.data or "").strip():
            self.processor.errors.append(
                _l("Name the processor that should receive your information.")
            )
            return False
        return valid


class CodeForm(FlaskForm):
    code = StringField(
        _l("The 6-digit code from our e-mail"),
        validators=[
            DataRequired(_l("Enter the code.")),
            Regexp(r"^\s*\d{6}\s*$", message=_l("The code has 6 digits.")),
        ],
    )
    submit = SubmitField(_l("Confirm my request"))
