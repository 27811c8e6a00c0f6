"""Forms of the WeChat sign-in: the phone form of a first sign-in, and the unbind button."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import InputRequired, Length, Regexp

from .fields import MOBILE_MESSAGE, PhoneNumberField, adult_consent_field, policy_consent_field


class WeChatCompleteForm(FlaskForm):
    """First WeChat sign-in: a mobile number proved by SMS, and the two required confirmations.

    No `subscribe` box: the newsletter is sent by e-mail and a WeChat account has no address;
    it can be subscribed to later in Account Details once an e-mail address is there.
    """

    phone = PhoneNumberField(
        _l("Mobile phone number"),
        validators=[
            InputRequired(_l("Please enter your mobile number.")),
            Length(max=32, message=MOBILE_MESSAGE),
        ],
        render_kw={"autocomplete": "tel"},
    )
    code = StringField(
        _l("SMS verification code"),
        validators=[
            InputRequired(_l("Please enter the 6-digit code we sent to your phone.")),
            Regexp(r"^\s*\d{6}\s*$", message=_l("The code has 6 digits.")),
        ],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": 6},
    )
    accept_policy = policy_consent_field()
    confirm_adult = adult_consent_field()
    send_code = SubmitField(_l("Send code"))
    submit = SubmitField(_l("Create my account"))


class UnbindForm(FlaskForm):
    """A POST with a CSRF token."""

    submit = SubmitField(_l("Unbind WeChat"))
