"""Account information, password and login e-mail workflows (no request, no flash)."""

from __future__ import annotations

from dataclasses import dataclass

from ...extensions import db
from ...models import User
from ...models.base import utcnow
from ..mail import external_url, send_mail
from . import mail_links, password_reset
from .registration import find_user_by_email, normalize_email
from .subscriptions import mail_language

EMAIL_PURPOSE = "email-change"
EMAIL_MAX_AGE = 24 * 3600


class WrongPassword(Exception):
    """The current password given does not match."""


class SameEmail(Exception):
    """The "new" address is the one the account already signs in with."""


@dataclass(frozen=True)
class ProfileData:
    """What the account information form hands over, already validated."""

    name: str
    job_title: str | None
    customer_type: str | None
    invoice_email: str | None
    preferred_language: str | None


def update_profile(user: User, data: ProfileData) -> None:
    """Store the optional fields as given; blanks become nothing (refusing them affects nothing)."""
    user.name = data.name
    user.job_title = data.job_title
    user.customer_type = data.customer_type or None
    user.invoice_email = data.invoice_email.lower() if data.invoice_email else None
    user.preferred_language = data.preferred_language or None
    db.session.commit()


def change_password(user: User, current: str | None, new: str, *, lang: str) -> None:
    """Check the current password (if one is set), then the site's one password change: rules
    (raises PasswordRejected), every session ended, a notice by mail. The caller signs back in."""
    if user.has_password and not user.check_password(current or ""):
        raise WrongPassword
    password_reset.change_password(user, new, lang=lang, reason="change")


def request_email_change(user: User, new_email: str) -> str:
    """Mail a confirmation link to the new address; nothing changes until it is opened.

    If another account already uses the address, that address gets a notice instead of a link,
    and the page says the same either way (no account enumeration). Returns the address as
    normalised; raises SameEmail when it is the current one.
    """
    new_email = normalize_email(new_email)
    if new_email == (user.email or ""):
        raise SameEmail
    lang = mail_language(user)
    if find_user_by_email(new_email) is not None:
        send_mail(new_email, "account_email_taken", lang, login_url=external_url("auth.login"))
        db.session.commit()
        return new_email
    token = mail_links.make(EMAIL_PURPOSE, {"u": user.id, "old": user.email, "new": new_email})
    send_mail(
        new_email,
        "account_email_verify",
        lang,
        user_name=user.name,
        confirm_url=external_url("account.confirm_email", token=token),
    )
    db.session.commit()
    return new_email


def confirm_email_change(token: str) -> str:
    """ "changed", "taken" or "invalid" (forged, expired, or already used: the old address moved)."""
    payload = mail_links.read(EMAIL_PURPOSE, token, EMAIL_MAX_AGE)
    if not isinstance(payload, dict):
        return "invalid"
    user = db.session.get(User, payload.get("u"))
    if user is None or not user.is_active or user.email != payload.get("old"):
        return "invalid"
    new_email = payload.get("new")
    if find_user_by_email(new_email) is not None:
        return "taken"
    old_email = user.email
    user.email = new_email
    user.email_verified_at = utcnow()
    if old_email:
        send_mail(
            old_email,
            "account_email_changed",
            mail_language(user),
            user_name=user.name,
            new_email=new_email,
        )
    db.session.commit()
    return "changed"
