"""Signing in to an account in deregistration's cooling-off: say it is closing, offer to keep it.

Shown only after the sign-in proved who it is (password, SMS code or WeChat): the page names the
erasure date and the two ways to keep the account — the link in the mail sent when it was
closed, or the button here. The button works for a few minutes, in this browser, for this
account and this deregistration only (a signed note in the session), and then signs in.
"""

from __future__ import annotations

import logging
import time

from flask import flash, redirect, render_template, session, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..models import User
from ..security import no_store, safe_next
from ..services.accounts.sign_in import in_cooling_off
from ..services.privacy import erasure
from . import bp
from .forms import KeepAccountForm
from .sessions import start_session

log = logging.getLogger(__name__)
CLOSING_KEY = "closing_account"
KEEP_WINDOW = 10 * 60  # seconds the button works after the sign-in was proved
METHODS = ("password", "sms", "wechat")


def closing_page(user: User, *, method: str, next_url: str | None):
    """The answer to a proved sign-in of an account that is closing (200: nothing failed)."""
    session[CLOSING_KEY] = {
        "uid": user.id,
        "since": int(user.deregistered_at.timestamp()),
        "at": int(time.time()),
        "method": method,
        "next": next_url,
    }
    log.info("auth.sign_in_closing user=%s method=%s", user.id, method)
    return render_template(
        "auth/closing.html",
        erase_after=user.erase_after,
        mailed=bool(user.email),
        form=KeepAccountForm(),
    )


def _noted_user(note) -> User | None:
    """The account the note in the session names, while it is still the same cooling-off."""
    if not isinstance(note, dict) or note.get("method") not in METHODS:
        return None
    if not isinstance(note.get("at"), int) or time.time() - note["at"] > KEEP_WINDOW:
        return None
    user = db.session.get(User, note.get("uid") or 0)
    if user is None or not in_cooling_off(user):
        return None
    if int(user.deregistered_at.timestamp()) != note.get("since"):
        return None
    return user


@bp.post("/login/keep")
@no_store
def keep_account():
    """ "Keep my account" on the closing page: cancel the deregistration, then sign in."""
    form = KeepAccountForm()
    note = session.pop(CLOSING_KEY, None)
    user = _noted_user(note)
    if not form.validate_on_submit() or user is None:
        flash(_("Please sign in again to keep your account."), "info")
        return redirect(url_for("auth.login"))
    erasure.cancel_deregistration(user)
    start_session(user, method=note["method"])
    flash(_("Your account has been kept: nothing was erased. Welcome back."), "success")
    return redirect(safe_next(note.get("next"), "account.index"))
