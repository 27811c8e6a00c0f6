"""Forms of the staff pages for data requests, notices and accounts."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from ..forms import SiteForm, choices
from ..services.privacy.notices import PARTS, NoticeText, parse_addresses
from ..services.privacy.requests import DECLINE_REASONS


class AnswerForm(SiteForm):
    """Staff set a request's status; answering or declining mails the text to the requester."""

    status = SelectField(
        _l("Status"),
        choices=choices(
            [
                ("in_progress", _l("Being handled (no mail)")),
                ("answered", _l("Answered (mails the answer)")),
                ("declined", _l("Declined (mails the reason)")),
            ]
        ),
    )
    decline_reason = SelectField(
        _l("Reason for declining (policy 5.7)"),
        choices=choices(DECLINE_REASONS.items(), blank_label=_l("Not declined")),
        default="",
    )
    answer = TextAreaField(_l("Answer to the requester"), validators=[Length(max=10000)])

    def validate_answer(self, field) -> None:
        """A requester must never get an empty answer or refusal."""
        if self.status.data != "in_progress" and not (field.data or "").strip():
            raise ValidationError(_l("Write the answer the requester will receive."))

    def validate_decline_reason(self, field) -> None:
        """A refusal names its reason: the requester reads it with the note."""
        if self.status.data == "declined" and not field.data:
            raise ValidationError(_l("Choose why the request is declined."))


_PART = [DataRequired(), Length(max=4000)]


class NoticeForm(SiteForm):
    """A notice goes out in both languages: each user reads it in theirs."""

    title_zh = StringField(_l("Title (Chinese)"), validators=[DataRequired(), Length(max=200)])
    title_en = StringField(_l("Title (English)"), validators=[DataRequired(), Length(max=200)])
    # the parts policy 3.2 lists, each in both languages (notices.PARTS)
    happened_zh = TextAreaField(_l("What happened (Chinese)"), validators=_PART)
    happened_en = TextAreaField(_l("What happened (English)"), validators=_PART)
    impact_zh = TextAreaField(_l("Possible impact (Chinese)"), validators=_PART)
    impact_en = TextAreaField(_l("Possible impact (English)"), validators=_PART)
    measures_zh = TextAreaField(_l("Measures we took and will take (Chinese)"), validators=_PART)
    measures_en = TextAreaField(_l("Measures we took and will take (English)"), validators=_PART)
    advice_zh = TextAreaField(_l("How to protect yourself (Chinese)"), validators=_PART)
    advice_en = TextAreaField(_l("How to protect yourself (English)"), validators=_PART)
    remedies_zh = TextAreaField(_l("Remedies available to you (Chinese)"), validators=_PART)
    remedies_en = TextAreaField(_l("Remedies available to you (English)"), validators=_PART)
    audience = RadioField(
        _l("Send to"),
        choices=choices(
            [("all", _l("All users")), ("selected", _l("Only these e-mail addresses"))]
        ),
        default="all",
    )
    emails = TextAreaField(_l("E-mail addresses (one per line)"))

    def validate_emails(self, field) -> None:
        """A notice for selected users needs someone to select."""
        if self.audience.data == "selected" and not parse_addresses(field.data):
            raise ValidationError(_l("List at least one e-mail address."))

    def text(self) -> NoticeText:
        """What staff wrote, trimmed, as the service takes it."""
        parts = [key for key, _heading in PARTS]
        return NoticeText.from_parts(
            self.title_zh.data.strip(),
            self.title_en.data.strip(),
            {key: self[f"{key}_zh"].data for key in parts},
            {key: self[f"{key}_en"].data for key in parts},
        )
