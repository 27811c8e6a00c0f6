"""Forms of the account information, password and login e-mail pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from ..auth.forms import CUSTOMER_TYPE_LABELS  # the same labels as on registration
from ..services.passwords import MAX_LENGTH as MAX_PASSWORD_LENGTH
from ..services.passwords import MIN_LENGTH as MIN_PASSWORD_LENGTH

LANGUAGE_LABELS = {"zh_CN": "简体中文", "en": "English"}


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _blank_is_none(value):
    value = _strip(value)
    return value or None


class ProfileForm(FlaskForm):
    """Account information (policy 1.3): only the name is required."""

    name = StringField(
        _l("Name"),
        filters=[_strip],
        validators=[DataRequired(_l("Please enter your name.")), Length(max=100)],
    )
    job_title = StringField(
        _l("Job title"), filters=[_blank_is_none], validators=[Optional(), Length(max=100)]
    )
    customer_type = SelectField(
        _l("Customer type"),
        choices=[("", _l("Not given")), *CUSTOMER_TYPE_LABELS.items()],
        validate_choice=True,
        default="",
    )
    invoice_email = EmailField(
        _l("Invoice e-mail"),
        filters=[_blank_is_none],
        validators=[
            Optional(),
            Length(max=254),
            Email(_l("Please enter a valid e-mail address."), check_deliverability=False),
        ],
    )
    preferred_language = SelectField(
        _l("Preferred language"),
        choices=[("", _l("Not given (the language of the page)")), *LANGUAGE_LABELS.items()],
        validate_choice=True,
        default="",
    )
    submit = SubmitField(_l("Save"))


class PasswordForm(FlaskForm):
    """Change the password, or set a first one (accounts made by WeChat sign-in have none)."""

    current_password = PasswordField(_l("Current password"))
    new_password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(_l("Please enter a new password.")),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=MAX_PASSWORD_LENGTH,
                message=_l("Use at least 8 characters."),
            ),
        ],
    )
    new_password_confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[
            DataRequired(_l("Please repeat the new password.")),
            EqualTo("new_password", _l("The two passwords do not match.")),
        ],
    )
    submit = SubmitField(_l("Save password"))


class EmailChangeForm(FlaskForm):
    """A new login e-mail; it takes effect only after the link sent to it is opened."""

    email = EmailField(
        _l("New e-mail address"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Please enter an e-mail address.")),
            Length(max=254),
            Email(_l("Please enter a valid e-mail address."), check_deliverability=False),
        ],
    )
    submit = SubmitField(_l("Send confirmation link"))


class SubscriptionForm(FlaskForm):
    """Marketing e-mail (policy 1.7): unticked until the user ticks it."""

    subscribe = BooleanField(
        _l(
            "Send me e-mail about services, products, discounts and promotions. I can "
            "unsubscribe at any time with one click."
        )
    )
    submit = SubmitField(_l("Save"))
