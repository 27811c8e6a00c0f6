"""Starting and ending a signed-in session in this browser (the request side of signing in).

A new session on every sign-in: everything in the old session cookie is dropped, so nothing
planted before sign-in survives it (no session fixation); the language lives in its own cookie.
"""

from __future__ import annotations

import logging

from flask import current_app, request, session
from flask_login import login_user, logout_user

from ..extensions import db
from ..i18n import remember_language
from ..security import mark_fresh_auth
from ..services import cookies
from ..services.accounts.sign_in import record_sign_in

log = logging.getLogger(__name__)


def _renew_session() -> None:
    session.clear()


def start_session(user, *, method: str, remember: bool = False, fresh: bool = True) -> bool:
    """Sign `user` in here; returns whether "remember me" was honoured (functional cookies only).

    `fresh` means the user just proved who they are (password, fresh WeChat sign-in), which
    counts for re-authentication; a mail link does not.
    """
    _renew_session()
    remembered = bool(remember) and cookies.allows(cookies.FUNCTIONAL)
    login_user(user, remember=remembered, fresh=fresh)
    if fresh:
        mark_fresh_auth()
    if user.preferred_language:
        remember_language(user.preferred_language)
    record_sign_in(user, method, request.remote_addr, request.user_agent.string)
    log.info("auth.signed_in user=%s method=%s remember=%s", user.id, method, remembered)
    return remembered


def keep_signed_in(user) -> None:
    """After a password change ended every session: this browser alone stays signed in (with its
    "remember me" if it had one), and the change counts as a fresh proof of identity."""
    remember = bool(request.cookies.get(current_app.config["REMEMBER_COOKIE_NAME"]))
    login_user(user, remember=remember, fresh=True)
    mark_fresh_auth()


def forget_remembered_devices(user) -> None:
    """Consent to functional cookies withdrawn: no "remember me" cookie may keep working on any
    device. The per-user token changes (other devices sign in again); this browser stays signed
    in for its session only."""
    user = user._get_current_object() if hasattr(user, "_get_current_object") else user
    user.end_all_sessions()
    db.session.commit()
    login_user(user, remember=False, fresh=bool(session.get("_fresh")))


def end_session(user) -> None:
    """Sign out here and everywhere: the per-user token changes, so every old cookie is useless."""
    user.end_all_sessions()
    db.session.commit()
    _renew_session()
    logout_user()  # after the clear: it asks for the remember cookie to be deleted
    log.info("auth.signed_out user=%s", user.id)
