"""Sign-in workflows without a request: check a password or an SMS code, record a sign-in.

An account in deregistration's cooling-off is not refused like a wrong password: once the
password (or the phone, or WeChat) has proved who is signing in, AccountClosing says so, with
the date, so the page can offer to keep the account. Without that proof nothing tells it apart.
"""

from __future__ import annotations

from datetime import datetime

from ...extensions import db
from ...models import SignInEvent, User
from ...models.base import utcnow
from . import phone_codes, phones
from .passwords import MAX_LENGTH, burn_time
from .registration import find_user_by_email

USER_AGENT_MAX = 255


class SignInRefused(Exception):
    """Wrong address or password, or an account that may not sign in; the page says only that."""

    def __init__(self, reason: str, user_id: int | None = None):
        super().__init__(reason)
        self.reason = reason  # unknown, password, inactive, no_password, too_long
        self.user_id = user_id


class AccountClosing(Exception):
    """Who signs in is proved, and their account is in the cooling-off: it can still be kept."""

    def __init__(self, user: User):
        super().__init__("closing")
        self.user = user


class NoAccountForPhone(Exception):
    """The phone is proved by its holder but no account has proved it (nothing to sign in to)."""


def in_cooling_off(user: User, now: datetime | None = None) -> bool:
    """Deregistered, not erased yet and still keepable (a minor's account never is)."""
    return (
        user.deregistered_at is not None
        and user.erased_at is None
        and not user.is_minor
        and user.erase_after is not None
        and user.erase_after > (now or utcnow())
    )


def _admit(user: User) -> User:
    """The proved user may sign in, unless the account is closing or closed."""
    if user.is_active:
        return user
    if in_cooling_off(user):
        raise AccountClosing(user)
    raise SignInRefused("inactive", user.id)


def authenticate(email: str, password: str) -> User:
    """The account these credentials open, or SignInRefused; always about the same time."""
    user = find_user_by_email(email)
    if len(password) > MAX_LENGTH:
        burn_time("")
        raise SignInRefused("too_long", user.id if user else None)
    if user is None:
        burn_time(password)
        raise SignInRefused("unknown")
    if not user.has_password:
        burn_time(password)
        raise SignInRefused("no_password", user.id)
    if not user.check_password(password):
        raise SignInRefused("password", user.id)
    return _admit(user)  # after the hash, so the timing is that of a good password


def authenticate_by_code(phone: str, code: str) -> User:
    """The account whose proved phone the code was sent to (/login/sms).

    Raises phone_codes.PhoneCodeError when the code does not prove the phone (the same for every
    number, known or not), then NoAccountForPhone, AccountClosing or SignInRefused("inactive").
    """
    phone_codes.verify(phone, code, purpose=phone_codes.SIGN_IN)
    user = phones.proved_owner(phone)
    if user is None:
        raise NoAccountForPhone()
    return _admit(user)


def reauthenticate_by_code(user: User, code: str) -> None:
    """An account without a password proves it is still its holder with a code sent to its
    proved phone. Raises phone_codes.PhoneCodeError (also when it has no proved phone)."""
    if not user.has_proved_phone:
        raise phone_codes.PhoneCodeError("missing")
    phone_codes.verify(user.phone, code, purpose=phone_codes.REAUTH)


def record_sign_in(user: User, method: str, ip: str | None, user_agent: str | None) -> None:
    """Keep the sign-in for the user's own history ("My data") and note the time on the account."""
    agent = (user_agent or "")[:USER_AGENT_MAX] or None
    db.session.add(SignInEvent(user_id=user.id, method=method, ip_address=ip, user_agent=agent))
    user.last_login_at = utcnow()
    db.session.commit()
