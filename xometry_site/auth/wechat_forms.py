"""Forms of the WeChat sign-in: the phone form of a first sign-in, and the unbind button."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, SubmitField
from wtforms.validators import Email, Length, StopValidation

from ..forms import (
    SiteForm,
    adult_consent_field,
    mobile_field,
    policy_consent_field,
    sms_code_field,
    strip,
)
from ..services.accounts.registration import normalize_email


def _needed_only_to_subscribe(form, field) -> None:
    """The address is asked for the newsletter alone: unticked, it is neither checked nor kept."""
    if not form.subscribe.data:
        field.errors[:] = []
        raise StopValidation()
    if not field.data:
        raise StopValidation(
            _l("Please enter the e-mail address for the newsletter, or untick the box.")
        )


class WeChatCompleteForm(SiteForm):
    """First WeChat sign-in: a mobile number proved by SMS, the two required confirmations, and
    the optional newsletter (WeChat gives no e-mail address, so the box comes with a field for one).
    """

    phone = mobile_field()
    code = sms_code_field()
    accept_policy = policy_consent_field()
    confirm_adult = adult_consent_field()
    subscribe = BooleanField(_l("Send me news and offers by e-mail (you can stop at any time)."))
    email = EmailField(
        _l("E-mail address for the newsletter"),
        validators=[
            _needed_only_to_subscribe,
            Length(max=254, message=_l("An e-mail address has at most 254 characters.")),
            Email(
                message=_l("Please enter a valid e-mail address, such as name@example.com."),
                check_deliverability=False,
            ),
        ],
        filters=[strip],
        render_kw={"autocomplete": "email"},
    )
    send_code = SubmitField(_l("Send code"))
    submit = SubmitField(_l("Create my account"))

    def newsletter_address(self) -> str | None:
        """The address to subscribe, normalised, or None when the box was left unticked."""
        return normalize_email(self.email.data) if self.subscribe.data else None


class UnbindForm(SiteForm):
    """A POST with a CSRF token."""

    submit = SubmitField(_l("Unbind WeChat"))
