"""Staff forms of a quote under review: its price, a refusal with a reason, a question."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms import DecimalField, IntegerField, SelectField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from ..forms import SiteForm, choices, strip
from ..models import Quote
from ..quotes.labels import DECLINE_CHOICE
from ..services.quotes import questions, review


class EngineerPriceForm(SiteForm):
    """Lead times, expedite surcharge and a note; one `price_<drawing id>` field is added per part."""

    lead_days_standard = IntegerField(
        _l("Standard lead time (working days)"),
        validators=[InputRequired(), NumberRange(min=1, max=365)],
    )
    lead_days_expedited = IntegerField(
        _l("Expedited lead time (working days, empty: not offered)"),
        validators=[Optional(), NumberRange(min=1, max=365)],
    )
    expedite_percent = DecimalField(
        _l("Expedite surcharge (%)"), places=0, validators=[Optional(), NumberRange(min=0, max=500)]
    )
    note = TextAreaField(
        _l("Note to the customer"), validators=[Optional(), Length(max=review.NOTE_MAX)]
    )


def price_form_for(
    quote: Quote, parts: list[review.ReviewedPart], submitted: bool
) -> EngineerPriceForm:
    """The form with a unit-price field per part, pre-filled with its price or instant price;
    `submitted`: read the posted values instead."""

    class Form(EngineerPriceForm):
        pass

    for reviewed in parts:
        setattr(
            Form,
            f"price_{reviewed.part.id}",
            DecimalField(
                reviewed.part.filename,
                places=2,
                default=reviewed.suggested_price,
                validators=[InputRequired(), NumberRange(min=Decimal("0.01"))],
            ),
        )
    defaults = review.engineer_defaults(quote)
    return Form() if submitted else Form(formdata=None, **defaults)


class DeclineForm(SiteForm):
    """Why we cannot quote it; the note is what the customer reads besides the reason."""

    reason = SelectField(
        _l("Reason"),
        choices=choices(DECLINE_CHOICE.items(), blank_label=_l("Choose a reason")),
        validators=[DataRequired(message=_l("Please choose a reason."))],
    )
    decline_note = TextAreaField(
        _l("Note to the customer (needed for “Other”)"),
        filters=[strip],
        validators=[Length(max=review.NOTE_MAX)],  # no Optional(): it would skip the check below
    )

    def validate_decline_note(self, field) -> None:
        if self.reason.data == "other" and not field.data:
            raise ValidationError(_l("Please say in the note why we cannot quote it."))


class QuestionForm(SiteForm):
    """A question the customer answers on the quote page (they are mailed a link)."""

    question = TextAreaField(
        _l("Question to the customer"),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Please write your question.")),
            Length(max=questions.MESSAGE_MAX),
        ],
    )
