"""Forms of registration and sign-in; every message is translated and shown next to its field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    ValidationError,
)

from ..forms import (
    MOBILE_MESSAGE,
    PhoneNumberField,
    SiteForm,
    adult_consent_field,
    choices,
    mobile_field,
    policy_consent_field,
    sms_code_field,
    strip,
)
from ..models.user import CUSTOMER_TYPES
from ..services.accounts.passwords import MAX_LENGTH, PasswordRejected, check_password_policy
from ..services.accounts.registration import Registration, normalize_email

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


def password_message(error: PasswordRejected):
    """The translated explanation of why a password was refused."""
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


class RegisterForm(SiteForm):
    """Registration by e-mail (policy 1.1): consents unticked and separate, phone in E.164."""

    name = StringField(
        _l("Your name"),
        [
            DataRequired(message=_l("Please enter your name.")),  # spaces alone are no name
            Length(max=NAME_MAX, message=_l("Please use at most 100 characters.")),
        ],
        filters=[strip],
    )
    email = EmailField(_l("E-mail address"), EMAIL_VALIDATORS, filters=[strip])
    phone = PhoneNumberField(
        _l("Mobile phone number"),
        [
            _required(_l("Please enter your mobile phone number.")),
            Length(max=32, message=MOBILE_MESSAGE),
        ],
    )
    customer_type = SelectField(
        _l("Customer type"),
        choices=choices(CUSTOMER_TYPE_LABELS.items(), blank_label=_l("Please choose")),
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
    accept_policy = policy_consent_field()
    confirm_adult = adult_consent_field()
    subscribe = BooleanField(_l("Send me news and offers by e-mail (you can stop at any time)."))

    def validate_password(self, field):
        """The password rules here too, so every mistake is shown in one round."""
        try:
            check_password_policy(field.data, email=self.email.data, name=self.name.data)
        except PasswordRejected as error:
            raise ValidationError(password_message(error)) from None

    def to_registration(self, *, language: str, ip: str | None) -> Registration:
        """The cleaned values the registration service takes (never the raw form)."""
        return Registration(
            name=self.name.data,
            email=normalize_email(self.email.data),
            phone=self.phone.e164 or "",
            customer_type=self.customer_type.data,
            password=self.password.data,
            subscribe=bool(self.subscribe.data),
            language=language,
            ip=ip,
        )


class LoginForm(SiteForm):
    """No address format check: any refusal must read the same."""

    email = EmailField(
        _l("E-mail address"),
        [
            _required(_l("Please enter your e-mail address.")),
            Length(max=EMAIL_MAX, message=_l("An e-mail address has at most 254 characters.")),
        ],
        filters=[strip],
    )
    password = PasswordField(_l("Password"), [_required(_l("Please enter your password."))])
    remember = BooleanField(_l("Keep me signed in on this device"))


class ForgotPasswordForm(SiteForm):
    """The same answer follows for known and unknown addresses."""

    email = EmailField(_l("E-mail address"), EMAIL_VALIDATORS, filters=[strip])


class ResetPasswordForm(SiteForm):
    """The rules are checked by the service, which knows the account's name and address."""

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


class ReauthenticateForm(SiteForm):
    """The password again before a sensitive change."""

    password = PasswordField(_l("Password"), [_required(_l("Please enter your password."))])


class ResendForm(SiteForm):
    """Only the CSRF token: the account is the signed-in one."""


class SmsPhoneForm(SiteForm):
    """Signing in by SMS, first step: the number to send a code to (any valid mobile number)."""

    phone = mobile_field()


class SmsCodeForm(SmsPhoneForm):
    """Second step: the number again (a hidden field) and the code sent to it."""

    code = sms_code_field()


class ReauthCodeForm(SiteForm):
    """An account without a password confirms it is you with a code sent to its own phone."""

    code = sms_code_field()


class KeepAccountForm(SiteForm):
    """Only the CSRF token: the account is the one whose sign-in was just proved."""
