"""Forms of the quote pages. The upload form's files are streamed by the view, not by WTForms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..forms import MenuField, SiteForm, choices, strip
from ..services.quotes.questions import MESSAGE_MAX as ANSWER_MAX

MAX_QUANTITY = 100_000
MAX_THREADS = 1_000


class QuoteForm(SiteForm):
    """Files first: process, material, finish and quantity are optional (the rules' defaults,
    changed per part on the quote page); the CSRF token is checked by the upload view on the
    streamed body, before any drawing is stored."""

    class Meta:
        csrf = False

    # `process` is a method of every WTForms form: the attribute differs, the field name does not
    process_ = SelectField(
        _l("Process"), name="process", validators=[Optional()], validate_choice=False
    )
    material = SelectField(_l("Material"), validators=[Optional()], validate_choice=False)
    # "" = the process's standard finish; membership is checked against the process by the view
    finish = SelectField(_l("Finish"), validators=[Optional()], validate_choice=False)
    quantity = IntegerField(
        _l("Quantity"),
        validators=[Optional(), NumberRange(min=1, max=MAX_QUANTITY)],
    )
    notes = TextAreaField(
        _l("Notes for the engineer (tolerances, threads, inspection)"),
        validators=[Optional(), Length(max=2000)],
    )


class PartForm(SiteForm):
    """One part's options on the quote page (and the query of its live price)."""

    process_ = MenuField(_l("Process"), name="process", validators=[InputRequired()])
    material = MenuField(_l("Material"), validators=[InputRequired()], validate_choice=True)
    finish = MenuField(_l("Finish"), validators=[InputRequired()], validate_choice=True)
    quantity = IntegerField(
        _l("Quantity"),
        validators=[
            InputRequired(message=_l("Enter how many parts you need.")),
            NumberRange(min=1, max=MAX_QUANTITY),
        ],
    )
    tolerance = MenuField(_l("Tolerance"), validators=[InputRequired()])
    threads = IntegerField(
        _l("Tapped holes"),
        default=0,
        validators=[
            InputRequired(message=_l("Enter the number of tapped holes (0 if none).")),
            NumberRange(min=0, max=MAX_THREADS),
        ],
    )
    inspection = MenuField(_l("Inspection"), validators=[InputRequired()])


class AttachForm(SiteForm):
    """Move a 2D drawing to another part ("" = its own part, for an engineer)."""

    part_id = SelectField(_l("Drawing for"), validators=[Optional()], validate_choice=True)


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


class AnswerForm(SiteForm):
    """The customer's answer to our engineer's question."""

    answer = TextAreaField(
        _l("Your answer"),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Please write your answer.")),
            Length(max=ANSWER_MAX),
        ],
    )
