"""Forms of registration and sign-in; every message is translated and shown next to its field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, TelField
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    ValidationError,
)

try:  # WTForms ≥ 3.3 deprecates (value, label) tuples
    from wtforms import SelectChoice
except ImportError:  # pragma: no cover - older WTForms

    def SelectChoice(value, label):
        return (value, label)


from ..models.user import CUSTOMER_TYPES
from ..services.passwords import MAX_LENGTH, PasswordRejected, check_password_policy
from ..services.registration import Registration, normalize_email
from ..services.validators import InvalidPhone, normalize_phone

CUSTOMER_TYPE_LABELS = {
    "company": _l("Company"),
    "individual": _l("Individual"),
    "education": _l("Education / research"),
    "other": _l("Other"),
}
PASSWORD_MESSAGES = {
    "too_short": _l("Use at least 8 characters."),
    "too_long": _l("Use at most 1024 characters."),
    "common": _l(
        "This password is one of the most common ones and easy to guess. Please choose another."
    ),
    "personal": _l("Do not use your e-mail address or your name as your password."),
}
NAME_MAX, EMAIL_MAX = 100, 254


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def password_message(error: PasswordRejected):
    return PASSWORD_MESSAGES[error.reason]


def _required(message):
    return InputRequired(message=message)


EMAIL_VALIDATORS = [
    _required(_l("Please enter your e-mail address.")),
    Length(max=EMAIL_MAX, message=_l("An e-mail address has at most 254 characters.")),
    Email(
        message=_l("Please enter a valid e-mail address, such as name@example.com."),
        check_deliverability=False,
    ),
]


class RegisterForm(FlaskForm):
    name = StringField(
        _l("Your name"),
        [
            DataRequired(message=_l("Please enter your name.")),  # spaces alone are no name
            Length(max=NAME_MAX, message=_l("Please use at most 100 characters.")),
        ],
        filters=[_strip],
    )
    email = EmailField(_l("E-mail address"), EMAIL_VALIDATORS, filters=[_strip])
    phone = TelField(
        _l("Mobile phone number"),
        [
            _required(_l("Please enter your mobile phone number.")),
            Length(
                max=32, message=_l("Please enter a Chinese mobile number, such as 138 1234 5678.")
            ),
        ],
        filters=[_strip],
    )
    customer_type = SelectField(
        _l("Customer type"),
        choices=[
            SelectChoice("", _l("Please choose")),
            *(SelectChoice(value, label) for value, label in CUSTOMER_TYPE_LABELS.items()),
        ],
        validators=[
            DataRequired(message=_l("Please choose a customer type.")),
            AnyOf(CUSTOMER_TYPES, message=_l("Please choose a customer type.")),
        ],
        validate_choice=False,
    )
    password = PasswordField(_l("Password"), [_required(_l("Please choose a password."))])
    password_confirm = PasswordField(
        _l("Repeat the password"),
        [
            _required(_l("Please repeat the password.")),
            EqualTo("password", message=_l("The two passwords do not match.")),
        ],
    )
    accept_policy = BooleanField(
        _l("I have read and accept the Data Protection Policy."),
        [DataRequired(message=_l("To register, please accept the Data Protection Policy."))],
    )
    confirm_adult = BooleanField(
        _l("I am 18 or older, or I act for an organisation."),
        [
            DataRequired(
                message=_l(
                    "Please confirm that you are 18 or older or act for an organisation: "
                    "our services are not meant for minors."
                )
            )
        ],
    )
    subscribe = BooleanField(_l("Send me news and offers by e-mail (you can stop at any time)."))

    phone_e164: str | None = None

    def validate_phone(self, field):
        try:
            self.phone_e164 = normalize_phone(field.data, allow_landline=False)
        except InvalidPhone:
            raise ValidationError(
                _l("Please enter a Chinese mobile number, such as 138 1234 5678.")
            ) from None

    def validate_password(self, field):
        try:
            check_password_policy(field.data, email=self.email.data, name=self.name.data)
        except PasswordRejected as error:
            raise ValidationError(password_message(error)) from None

    def to_registration(self, *, language: str, ip: str | None) -> Registration:
        return Registration(
            name=self.name.data,
            email=normalize_email(self.email.data),
            phone=self.phone_e164 or "",
            customer_type=self.customer_type.data,
            password=self.password.data,
            subscribe=bool(self.subscribe.data),
            language=language,
            ip=ip,
        )


class LoginForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"),
        [
            _required(_l("Please enter your e-mail address.")),
            Length(max=EMAIL_MAX, message=_l("An e-mail address has at most 254 characters.")),
        ],
        filters=[_strip],
    )
    password = PasswordField(_l("Password"), [_required(_l("Please enter your password."))])
    remember = BooleanField(_l("Keep me signed in on this device"))


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail address"), EMAIL_VALIDATORS, filters=[_strip])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        [
            _required(_l("Please choose a password.")),
            Length(max=MAX_LENGTH, message=PASSWORD_MESSAGES["too_long"]),
        ],
    )
    password_confirm = PasswordField(
        _l("Repeat the new password"),
        [
            _required(_l("Please repeat the password.")),
            EqualTo("password", message=_l("The two passwords do not match.")),
        ],
    )


class ReauthenticateForm(FlaskForm):
    password = PasswordField(_l("Password"), [_required(_l("Please enter your password."))])


class ResendForm(FlaskForm):
    """Only the CSRF token: the account is the signed-in one."""
