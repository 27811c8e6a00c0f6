"""Forms of the WeChat sign-in: the phone form of a first sign-in, and the unbind button."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, Regexp

from ..services.validators import InvalidPhone, normalize_phone


class PhoneField(StringField):
    """A Chinese mobile number; `e164` holds it normalised once the form validates."""

    e164: str | None = None

    def post_validate(self, form, validation_stopped: bool) -> None:
        self.e164 = None
        if validation_stopped:
            return
        try:
            self.e164 = normalize_phone(self.data or "", allow_landline=False)
        except InvalidPhone:
            self.errors.append(
                _l("Please enter a mainland China mobile number, e.g. 138 1234 5678.")
            )


class WeChatCompleteForm(FlaskForm):
    """First WeChat sign-in: a mobile number proved by SMS, and the two required confirmations.

    No `subscribe` box: the newsletter is sent by e-mail and a WeChat account has no address;
    it can be subscribed to later in Account Details once an e-mail address is there.
    """

    phone = PhoneField(
        _l("Mobile phone number"),
        validators=[InputRequired(_l("Please enter your mobile number.")), Length(max=32)],
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )
    code = StringField(
        _l("SMS verification code"),
        validators=[
            InputRequired(_l("Please enter the 6-digit code we sent to your phone.")),
            Regexp(r"^\s*\d{6}\s*$", message=_l("The code has 6 digits.")),
        ],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": 6},
    )
    accept_policy = BooleanField(
        _l("I have read and accept the Data Protection Policy."),
        validators=[DataRequired(_l("Please accept the Data Protection Policy to continue."))],
    )
    confirm_adult = BooleanField(
        _l("I am 18 or older, or I act for an organisation."),
        validators=[DataRequired(_l("Please confirm that you are 18 or older."))],
    )
    send_code = SubmitField(_l("Send code"))
    submit = SubmitField(_l("Create my account"))


class UnbindForm(FlaskForm):
    """A POST with a CSRF token."""

    submit = SubmitField(_l("Unbind WeChat"))
