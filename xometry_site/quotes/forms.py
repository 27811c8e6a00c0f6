"""Forms of the quote pages. The upload form's files are streamed by the view, not by WTForms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, RadioField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ..forms import SiteForm, choices

MAX_QUANTITY = 100_000


class QuoteForm(SiteForm):
    """Process, material, finish, quantity, notes; the CSRF token is checked by the upload view
    on the streamed body, before any drawing is stored."""

    class Meta:
        csrf = False

    # `process` is a method of every WTForms form: the attribute differs, the field name does not
    process_ = SelectField(_l("Process"), name="process", validators=[InputRequired()])
    material = SelectField(_l("Material"), validators=[InputRequired()])
    # "" = the process's standard finish; membership is checked against the process by the view
    finish = SelectField(_l("Finish"), validators=[Optional()], validate_choice=False)
    quantity = IntegerField(
        _l("Quantity"),
        default=1,
        validators=[
            InputRequired(message=_l("Enter how many parts you need.")),
            NumberRange(min=1, max=MAX_QUANTITY),
        ],
    )
    notes = TextAreaField(
        _l("Notes for the engineer (tolerances, threads, inspection)"),
        validators=[Optional(), Length(max=2000)],
    )


class AcceptForm(SiteForm):
    """Order a quoted price: where to ship, whom to invoice, how fast."""

    shipping_address_id = RadioField(
        _l("Ship to"),
        coerce=int,
        validators=[InputRequired(message=_l("Please choose one of your shipping addresses."))],
    )
    invoice_profile_id = RadioField(
        _l("Invoice to"),
        coerce=int,
        validators=[InputRequired(message=_l("Please choose your invoice details."))],
    )
    lead_choice = RadioField(
        _l("Lead time"),
        choices=choices([("standard", _l("Standard")), ("expedited", _l("Expedited"))]),
        default="standard",
        validators=[InputRequired()],
    )


class CancelForm(SiteForm):
    """Only the CSRF token: cancelling is a state change."""
