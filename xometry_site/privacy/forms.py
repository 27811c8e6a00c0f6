"""Forms of the privacy center: each right is one small form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Email,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from ..forms import SiteForm, choices
from ..services.privacy.requests import KIND_LABELS, Draft
from ..services.privacy.withdrawal import WITHDRAWABLE


class ActionForm(SiteForm):
    """A button that changes something: only the CSRF token travels."""


class WithdrawForm(SiteForm):
    """One click per consent: which kind travels in a hidden field."""

    kind = HiddenField(validators=[DataRequired()])

    def validate_kind(self, field) -> None:
        """The policy consent is withdrawn by deregistering, never by this button."""
        if field.data not in WITHDRAWABLE:
            raise ValidationError(_l("This consent cannot be withdrawn here."))


class ThirdPartyConsentForm(SiteForm):
    """Separate consent to one recipient of the register: given by ticking a box that names it,
    withdrawn with one click."""

    recipient_id = IntegerField(validators=[InputRequired()])
    decision = HiddenField(validators=[AnyOf(("give", "withdraw"))])
    agree = BooleanField(
        _l(
            "I agree that Xometry Asia gives the information listed above to this recipient for "
            "the purpose listed above."
        )
    )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.decision.data == "give" and not self.agree.data:
            self.agree.errors = [*self.agree.errors, _l("Tick the box to give your consent.")]
            valid = False
        return valid


class DeleteAllDrawingsForm(SiteForm):
    """Deleting every drawing cannot be undone: a ticked box, not just a button."""

    confirm = BooleanField(
        _l("Yes, delete all my drawings. I understand they cannot be recovered."),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )


class DeregisterForm(SiteForm):
    """Closing the account cannot be undone after the cooling-off: a ticked box confirms it."""

    confirm = BooleanField(
        _l("I understand that my account will be closed and my data erased as described above."),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )


class RequestForm(SiteForm):
    """A data-protection request; visitors also give the address we verify by a code."""

    kind = RadioField(
        _l("What would you like?"),
        choices=choices(KIND_LABELS.items()),
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

    def __init__(self, *args, needs_email: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.needs_email = needs_email  # a visitor: the address we verify and answer to

    def validate(self, extra_validators=None) -> bool:
        """Checks that depend on other fields (an empty Optional field skips its inline checks)."""
        valid = super().validate(extra_validators)
        if self.kind.data == "transfer" and not (self.processor.data or "").strip():
            self.processor.errors.append(
                _l("Name the processor that should receive your information.")
            )
            valid = False
        if self.needs_email and not (self.email.data or "").strip():
            self.email.errors.append(_l("Enter your e-mail address: we send the answer there."))
            valid = False
        return valid

    def draft(self) -> Draft:
        """The request as the service takes it."""
        return Draft(self.kind.data, self.details.data, (self.processor.data or "").strip())


class CodeForm(SiteForm):
    """The code mailed to a visitor proves the address is theirs before a request is filed."""

    code = StringField(
        _l("The 6-digit code from our e-mail"),
        validators=[
            DataRequired(_l("Enter the code.")),
            Regexp(r"^\s*\d{6}\s*$", message=_l("The code has 6 digits.")),
        ],
    )
    submit = SubmitField(_l("Confirm my request"))
