"""Forgotten passwords and password changes: neutral requests, single-use links, sessions ended.

A reset link carries a fingerprint of the password hash it was issued against: once the password
changes (by this link or otherwise) every earlier link stops working.
"""

from __future__ import annotations

import logging

from flask import current_app

from ...extensions import db
from ...models import User
from ..mail import external_url, send_mail
from ..tokens import TokenInvalid, fingerprint, make_token, read_token
from .passwords import burn_time, check_password_policy
from .registration import find_user_by_email

log = logging.getLogger(__name__)

RESET_PURPOSE = "reset-password"


def reset_token(user: User) -> str:
    """Bound to the current password hash, so it works once and dies with any change."""
    return make_token(RESET_PURPOSE, {"uid": user.id, "pw": fingerprint(user.password_hash)})


def request_reset(email: str, lang: str) -> None:
    """Mail a reset link when the address has an active account; the caller answers the same anyway."""
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        burn_time(email)  # roughly the cost of rendering and sending, so timing tells less
        log.info("auth.reset_requested user=unknown")
        return
    send_mail(
        user.email,
        "reset_password",
        user.preferred_language or lang,
        user=user,
        reset_url=external_url("auth.reset_password", token=reset_token(user)),
        minutes=max_age() // 60,
    )
    db.session.commit()
    log.info("auth.reset_requested user=%s", user.id)


def max_age() -> int:
    """How long a reset link works (PASSWORD_RESET_MAX_AGE, an hour by default)."""
    return int(current_app.config.get("PASSWORD_RESET_MAX_AGE", 3600))


def user_for_reset_token(token: str) -> User:
    """The account a link may reset; TokenExpired / TokenInvalid when it is old, forged or used."""
    payload = read_token(RESET_PURPOSE, token, max_age())
    if not isinstance(payload, dict):
        raise TokenInvalid(RESET_PURPOSE)
    user = db.session.get(User, payload.get("uid") or 0)
    if user is None or not user.is_active or payload.get("pw") != fingerprint(user.password_hash):
        raise TokenInvalid(RESET_PURPOSE)
    return user


def change_password(user: User, new_password: str, *, lang: str | None, reason: str) -> None:
    """Set a new password, end every session issued so far, and tell the owner by mail.

    `reason` is "reset" or "change" (for the notice and the log). The caller signs the current
    browser back in if it should stay signed in. Raises PasswordRejected.
    """
    check_password_policy(new_password, email=user.email, name=user.name)
    user.set_password(new_password)
    user.end_all_sessions()
    if user.email:
        send_mail(
            user.email,
            "password_changed",
            user.preferred_language or lang,
            user=user,
            reason=reason,
            forgot_url=external_url("auth.forgot_password"),
        )
    db.session.commit()
    log.info("auth.password_changed user=%s reason=%s", user.id, reason)
