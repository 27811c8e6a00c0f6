"""Sign-in workflows without a request: check a password, record a sign-in."""

from __future__ import annotations

from ...extensions import db
from ...models import SignInEvent, User
from ...models.base import utcnow
from .passwords import MAX_LENGTH, burn_time
from .registration import find_user_by_email

USER_AGENT_MAX = 255


class SignInRefused(Exception):
    """Wrong address or password, or an account that may not sign in; the page says only that."""

    def __init__(self, reason: str, user_id: int | None = None):
        super().__init__(reason)
        self.reason = reason  # unknown, password, inactive, no_password, too_long
        self.user_id = user_id


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
    if not user.is_active:  # checked after the hash, so the timing is that of a good password
        raise SignInRefused("inactive", user.id)
    return user


def record_sign_in(user: User, method: str, ip: str | None, user_agent: str | None) -> None:
    """Keep the sign-in for the user's own history ("My data") and note the time on the account."""
    agent = (user_agent or "")[:USER_AGENT_MAX] or None
    db.session.add(SignInEvent(user_id=user.id, method=method, ip_address=ip, user_agent=agent))
    user.last_login_at = utcnow()
    db.session.commit()
