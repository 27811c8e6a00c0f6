"""Staff forms of policy section 4: a recipient of the register, and a provision from an order."""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from ..forms import MultiCheckboxField, SiteForm, blank_is_none, choices, strip
from ..models.sharing import MAINLAND_CHINA
from ..services.privacy import provisions, recipients
from ..services.privacy.provisions import ProvisionDraft
from ..services.privacy.recipients import RecipientData

_NAME = [DataRequired(), Length(max=200)]
_PURPOSE = [DataRequired(), Length(max=2000)]


def _pi_type_choices() -> list:
    return choices((t.code, t.label) for t in recipients.PI_TYPES)


class RecipientForm(SiteForm):
    """A line of the register, in both languages: the public list shows what is written here."""

    name_zh = StringField(_l("Name (Chinese)"), filters=[strip], validators=_NAME)
    name_en = StringField(_l("Name (English)"), filters=[strip], validators=_NAME)
    role = SelectField(
        _l("Role"), choices=choices(recipients.ROLE_LABELS.items()), validators=[InputRequired()]
    )
    kind = RadioField(
        _l("How we share"),
        choices=choices(recipients.KIND_LABELS.items()),
        validators=[InputRequired(_l("Choose how we share with this recipient."))],
    )
    purpose_zh = TextAreaField(_l("Purpose (Chinese)"), filters=[strip], validators=_PURPOSE)
    purpose_en = TextAreaField(_l("Purpose (English)"), filters=[strip], validators=_PURPOSE)
    categories = MultiCheckboxField(
        _l("Personal information it receives"),
        choices=_pi_type_choices(),
        validators=[DataRequired(_l("Tick at least one kind of personal information."))],
    )
    country = SelectField(_l("Country or region"), validators=[InputRequired()])
    contact = StringField(
        _l("Contact (address, phone or e-mail for personal information questions)"),
        filters=[blank_is_none],
        validators=[Optional(), Length(max=200)],
    )
    since = DateField(_l("Receiving information since"), validators=[InputRequired()])
    until = DateField(_l("Until (leave empty while in use)"), validators=[Optional()])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = choices(recipients.country_codes(get_locale()))
        if not self.is_submitted() and not self.country.data:
            self.country.data = MAINLAND_CHINA

    def validate(self, extra_validators=None) -> bool:
        """Checks across fields (an empty Optional field skips its own inline checks)."""
        valid = super().validate(extra_validators)
        outside = self.country.data and self.country.data != MAINLAND_CHINA
        if not self.contact.data and (self.kind.data == "provided" or outside):
            # PIPL arts. 23 and 39: such a recipient is named to the customer with its contact
            self.contact.errors = [
                *self.contact.errors,
                _l("A third party, or a recipient outside mainland China, needs a contact."),
            ]
            valid = False
        return valid

    def validate_until(self, field) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("The end date cannot be before the start date."))

    def recipient_data(self) -> RecipientData:
        return RecipientData(
            name_zh=self.name_zh.data,
            name_en=self.name_en.data,
            role=self.role.data,
            kind=self.kind.data,
            purpose_zh=self.purpose_zh.data,
            purpose_en=self.purpose_en.data,
            categories=[t.code for t in recipients.PI_TYPES if t.code in self.categories.data],
            country=self.country.data,
            contact=self.contact.data,
            since=self.since.data,
            until=self.until.data,
        )


class ProvisionForm(SiteForm):
    """ "Send to a recipient": who, which information of this order, and why."""

    recipient = SelectField(
        _l("Recipient"),
        coerce=int,
        validators=[InputRequired(_l("Choose the recipient."))],
    )
    categories = MultiCheckboxField(
        _l("Information sent"),
        choices=_pi_type_choices(),
        validators=[DataRequired(_l("Tick the information you send."))],
    )
    purpose = SelectField(
        _l("Purpose"),
        choices=choices(provisions.PURPOSES.items()),
        validators=[InputRequired()],
    )
    note = TextAreaField(
        _l("Note for the customer (optional; needed for another purpose)"),
        filters=[blank_is_none],
        validators=[Optional(), Length(max=500)],
    )

    def set_recipients(self, options: list) -> None:
        self.recipient.choices = options

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.purpose.data == "other" and not self.note.data:
            self.note.errors = [
                *self.note.errors,
                _l("Say what the other purpose is: the customer reads it."),
            ]
            valid = False
        return valid

    def draft(self) -> ProvisionDraft:
        return ProvisionDraft(
            self.recipient.data, list(self.categories.data), self.purpose.data, self.note.data
        )
