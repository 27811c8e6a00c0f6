"""Staff forms on an order: a received transfer, the next status (with shipping), the fapiao."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, DecimalField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ..forms import SiteForm, choices, strip
from ..services.orders.carriers import CARRIERS


class TransferForm(SiteForm):
    """A corporate transfer as the bank statement shows it."""

    amount = DecimalField(
        _l("Amount received (CNY)"),
        places=2,
        validators=[InputRequired(), NumberRange(min=0.01, max=100_000_000)],
    )
    received_on = DateField(_l("Received on"), validators=[InputRequired()])
    reference = StringField(
        _l("Bank reference"), filters=[strip], validators=[InputRequired(), Length(max=64)]
    )


class StatusForm(SiteForm):
    """The next status; shipping needs the carrier and the tracking number."""

    status = SelectField(_l("New status"), validators=[InputRequired()])
    carrier = SelectField(
        _l("Carrier"),
        validators=[Optional()],
        choices=choices(((code, name) for code, (name, _url) in CARRIERS.items()), ""),
    )
    tracking_number = StringField(
        _l("Tracking number"), filters=[strip], validators=[Optional(), Length(max=40)]
    )


class FapiaoForm(SiteForm):
    """The issued e-fapiao: its number and its PDF or OFD file."""

    number = StringField(
        _l("Fapiao number"), filters=[strip], validators=[InputRequired(), Length(max=40)]
    )
    file = FileField(_l("Fapiao file (PDF or OFD)"), validators=[FileRequired()])


class RefundForm(SiteForm):
    """Ask WeChat Pay again for a cancelled order's refunds."""
