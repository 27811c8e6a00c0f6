"""Registration by e-mail and e-mail verification: a form's data in, an account (or a domain error) out.

No account enumeration: a registration with a known address raises DuplicateEmail only after doing
the same work as a real one (a password hash, one mail) so the view can answer exactly as for a
success, while the address's owner is told by mail that someone tried. The phone number typed is
kept as an unproved claim whoever else has it (services/accounts/phones.py), so the answer says
nothing about the number either.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import User
from ...models.base import utcnow
from ..mail import external_url, send_mail
from ..tokens import TokenInvalid, make_token, read_token
from .opening import GivenConsents, open_account, send_subscription_confirmation
from .passwords import check_password_policy, hash_password

log = logging.getLogger(__name__)

VERIFY_PURPOSE = "verify-email"


class RegistrationError(Exception):
    """A registration that cannot go ahead; the view maps each kind onto the form."""


class DuplicateEmail(RegistrationError):
    """The address belongs to an account already; its owner has been mailed. Show as success."""


class AlreadyVerified(Exception):
    """A verification link used a second time: harmless, say so."""


@dataclass(frozen=True)
class Registration:
    """What the registration form collected, cleaned (e-mail lowercased, phone in E.164, unproved)."""

    name: str
    email: str
    phone: str
    customer_type: str
    password: str = field(repr=False)
    subscribe: bool
    language: str
    ip: str | None = None
    browser_nonce: str = field(default_factory=lambda: secrets.token_urlsafe(12), repr=False)


def normalize_email(raw: str | None) -> str:
    """One spelling per address for lookups and uniqueness: trimmed and lowercased."""
    return (raw or "").strip().lower()


def find_user_by_email(email: str | None) -> User | None:
    """Whatever the spelling typed: addresses are stored normalised."""
    address = normalize_email(email)
    if not address:
        return None
    return db.session.scalar(db.select(User).filter_by(email=address))


def register(data: Registration) -> User:
    """Create the account with its consents and send the verification mail, or raise."""
    check_password_policy(data.password, email=data.email, name=data.name)
    existing = find_user_by_email(data.email)
    if existing is not None:
        _refuse_duplicate(existing, data)
    user = User(
        name=data.name,
        email=data.email,
        phone=data.phone or None,  # a claim until proved by SMS (Personal Center)
        customer_type=data.customer_type,
        preferred_language=data.language,
        password_hash=hash_password(data.password),
    )
    given = GivenConsents(channel="register", ip=data.ip, subscribe=data.subscribe)
    try:
        subscription = open_account(user, given)
    except IntegrityError:  # a concurrent registration took the address
        existing = find_user_by_email(data.email)
        if existing is not None:
            _refuse_duplicate(existing, data, hashed=True)
        raise
    send_verification(user, data.language, browser_nonce=data.browser_nonce, commit=False)
    if subscription is not None:
        send_subscription_confirmation(user, subscription, commit=False)
    db.session.commit()  # the account, its consents and its mail: one transaction
    log.info("auth.registered user=%s", user.id)
    return user


def _refuse_duplicate(existing: User, data: Registration, hashed: bool = False) -> None:
    if not hashed:
        hash_password(data.password)  # the same work as a real registration
    log.info("auth.register_duplicate user=%s", existing.id)
    send_mail(
        existing.email,
        "register_existing",
        existing.preferred_language or data.language,
        user=existing,
        login_url=external_url("auth.login"),
        forgot_url=external_url("auth.forgot_password"),
        deregistered=not existing.is_active,
    )
    db.session.commit()  # the attempt is the event: its mail is all it writes
    raise DuplicateEmail()


# --- verification ---------------------------------------------------------------------------


def verification_token(user: User, browser_nonce: str | None = None) -> str:
    """Bound to the address and to "not verified yet": a used or outdated link no longer fits."""
    payload = {"uid": user.id, "email": user.email, "verified": user.email_verified_at is not None}
    if browser_nonce:
        payload["nonce"] = browser_nonce
    return make_token(VERIFY_PURPOSE, payload)


def send_verification(
    user: User, lang: str | None, browser_nonce: str | None = None, *, commit: bool = True
) -> None:
    """In the account's language; the link is bound to this address and browser. Commits the
    mail (with whatever the caller's transaction holds) unless the caller commits it itself."""
    token = verification_token(user, browser_nonce)
    send_mail(
        user.email,
        "verify_email",
        user.preferred_language or lang,
        user=user,
        verify_url=external_url("auth.verify_email", token=token),
        hours=current_app.config.get("VERIFY_EMAIL_MAX_AGE", 48 * 3600) // 3600,
    )
    if commit:
        db.session.commit()
    log.info("auth.verification_queued user=%s", user.id)


def verify_email(token: str) -> tuple[User, str | None]:
    """Mark the address verified; returns the user and the browser nonce the link was made with.

    Raises TokenExpired / TokenInvalid, or AlreadyVerified when the link was used before.
    """
    max_age = current_app.config.get("VERIFY_EMAIL_MAX_AGE", 48 * 3600)
    payload = read_token(VERIFY_PURPOSE, token, max_age)
    if not isinstance(payload, dict):
        raise TokenInvalid(VERIFY_PURPOSE)
    user = db.session.get(User, payload.get("uid") or 0)
    if user is None or not user.is_active or user.email != payload.get("email"):
        raise TokenInvalid(VERIFY_PURPOSE)
    if user.email_verified_at is not None or payload.get("verified"):
        raise AlreadyVerified()
    user.email_verified_at = utcnow()
    db.session.commit()
    log.info("auth.email_verified user=%s", user.id)
    return user, payload.get("nonce")
