"""Staff forms of a data request: the requester's identity, the transfer address, drawings."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, SelectField, SelectMultipleField, TextAreaField, widgets
from wtforms.validators import DataRequired, Email, Length, ValidationError

from ..forms import SiteForm, choices, strip
from ..services.privacy.staff_actions import IDENTITY_METHODS


class IdentityForm(SiteForm):
    """How staff made sure the requester owns the account (policy 5.7: we verify your identity)."""

    method = SelectField(
        _l("How the identity was verified"),
        choices=choices(IDENTITY_METHODS.items(), blank_label=_l("Choose…")),
        validators=[DataRequired(_l("Say how you verified it."))],
    )
    note = TextAreaField(
        _l("Note (what was checked, when)"), filters=[strip], validators=[Length(max=500)]
    )

    def validate_note(self, field) -> None:
        """ "Other" says what it was."""
        if self.method.data == "other" and not field.data:
            raise ValidationError(_l("Describe how you verified it."))


class ProcessorForm(SiteForm):
    """The processor's address for a transfer: the customer confirms it before anything goes."""

    processor_email = EmailField(
        _l("The processor's e-mail address"),
        filters=[strip],
        validators=[
            DataRequired(_l("Please enter the e-mail address.")),
            Length(max=254),
            Email(_l("Please enter a valid e-mail address."), check_deliverability=False),
        ],
    )


class DrawingsForm(SiteForm):
    """Which of the account's drawings to delete (the view lists the deletable ones)."""

    drawings = SelectMultipleField(
        _l("Drawings"),
        coerce=int,
        choices=[],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validators=[DataRequired(_l("Tick the drawings to delete."))],
    )
