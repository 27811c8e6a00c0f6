"""Forms of the account information, password and login e-mail pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from ..auth.forms import CUSTOMER_TYPE_LABELS  # the same labels as on registration
from ..forms import SiteForm, blank_is_none, choices, strip

LANGUAGE_LABELS = {"zh_CN": "简体中文", "en": "English"}


def invoice_email_field() -> EmailField:
    """The address invoices are sent to: optional, asked on the profile and the invoice page."""
    return EmailField(
        _l("Invoice e-mail"),
        filters=[blank_is_none],
        validators=[
            Optional(),
            Length(max=254),
            Email(_l("Please enter a valid e-mail address."), check_deliverability=False),
        ],
    )


class ProfileForm(SiteForm):
    """Account information (policy 1.3): only the name is required."""

    name = StringField(
        _l("Name"),
        filters=[strip],
        validators=[DataRequired(_l("Please enter your name.")), Length(max=100)],
    )
    job_title = StringField(
        _l("Job title"), filters=[blank_is_none], validators=[Optional(), Length(max=100)]
    )
    customer_type = SelectField(
        _l("Customer type"),
        choices=choices(CUSTOMER_TYPE_LABELS.items(), blank_label=_l("Not given")),
        default="",
    )
    invoice_email = invoice_email_field()
    preferred_language = SelectField(
        _l("Preferred language"),
        choices=choices(
            LANGUAGE_LABELS.items(), blank_label=_l("Not given (the language of the page)")
        ),
        default="",
    )
    submit = SubmitField(_l("Save"))


class PasswordForm(SiteForm):
    """Change the password, or set a first one (accounts made by WeChat sign-in have none).

    The password rules (length, common list, own name or address) are the service's: it raises
    PasswordRejected and the view puts the reason's message beside `new_password`.
    """

    current_password = PasswordField(_l("Current password"))
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(_l("Please enter a new password."))],
    )
    new_password_confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[
            DataRequired(_l("Please repeat the new password.")),
            EqualTo("new_password", _l("The two passwords do not match.")),
        ],
    )
    submit = SubmitField(_l("Save password"))


class EmailChangeForm(SiteForm):
    """A new login e-mail; it takes effect only after the link sent to it is opened."""

    email = EmailField(
        _l("New e-mail address"),
        filters=[strip],
        validators=[
            DataRequired(_l("Please enter an e-mail address.")),
            Length(max=254),
            Email(_l("Please enter a valid e-mail address."), check_deliverability=False),
        ],
    )
    submit = SubmitField(_l("Send confirmation link"))


class SubscriptionForm(SiteForm):
    """Marketing e-mail (policy 1.7): unticked until the user ticks it."""

    subscribe = BooleanField(
        _l(
            "Send me e-mail about services, products, discounts and promotions. I can "
            "unsubscribe at any time with one click."
        )
    )
    submit = SubmitField(_l("Save"))
