"""Registration and e-mail verification pages."""

from __future__ import annotations

import logging

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..i18n import current_language
from ..security import no_store, safe_next
from ..services.accounts import registration
from ..services.accounts.passwords import PasswordRejected
from ..services.accounts.registration import AlreadyVerified, DuplicateEmail
from ..services.tokens import TokenExpired, TokenInvalid
from . import bp
from .forms import RegisterForm, ResendForm, password_message
from .limits import mark_attempt_counted, register_throttle, resend_throttle
from .sessions import start_session

log = logging.getLogger(__name__)
NONCE_KEY = "_verify_nonce"  # binds a verification link to the browser that registered


@bp.route("/register", methods=["GET", "POST"])
@register_throttle
@no_store
def register():
    """A duplicate address gets the success page too (its owner is told by mail), and so does a
    number another account has: it is kept unproved until confirmed by SMS."""
    if current_user.is_authenticated:
        return redirect(url_for("account.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        mark_attempt_counted()
        data = form.to_registration(language=current_language(), ip=request.remote_addr)
        try:
            registration.register(data)
        except PasswordRejected as error:
            form.password.errors.append(password_message(error))
        except DuplicateEmail:  # answered exactly like a success; the owner was mailed
            return _registered(data.browser_nonce)
        else:
            return _registered(data.browser_nonce)
    return render_template("auth/register.html", form=form)


def _registered(nonce: str):
    session[NONCE_KEY] = nonce
    return redirect(url_for("auth.registered"))


@bp.get("/register/done")
@no_store
def registered():
    """Check your mailbox: the same page for new and already-known addresses."""
    return render_template("auth/registered.html")


@bp.get("/verify-email/<token>")
@no_store
def verify_email(token: str):
    """Verifies anywhere; signs in only the browser that registered (a mail scanner must not)."""
    try:
        user, nonce = registration.verify_email(token)
    except AlreadyVerified:
        return render_template("auth/verify_result.html", outcome="already")
    except TokenExpired:
        log.info("auth.verify_denied reason=expired")
        return render_template("auth/verify_result.html", outcome="expired"), 400
    except TokenInvalid:
        log.info("auth.verify_denied reason=invalid")
        return render_template("auth/verify_result.html", outcome="invalid"), 400
    same_browser = bool(nonce) and session.pop(NONCE_KEY, None) == nonce
    signed_in = False
    if same_browser and not current_user.is_authenticated:
        start_session(user, method="verify_link", fresh=False)
        signed_in = True
    return render_template("auth/verify_result.html", outcome="verified", signed_in=signed_in)


@bp.get("/verify-email/pending")
@login_required
@no_store
def verify_pending():
    """Why a page needs a verified address, with a button for a new link."""
    target = safe_next(request.args.get("next"), "pages.home")
    if current_user.is_verified:
        return redirect(target)
    return render_template("auth/verify_pending.html", form=ResendForm(), next=target)


@bp.post("/verify-email/resend")
@login_required
@resend_throttle
def resend_verification():
    """A new link for the signed-in account, throttled per account and per IP."""
    form = ResendForm()
    target = safe_next(request.form.get("next"), "pages.home")
    if form.validate_on_submit() and not current_user.is_verified and current_user.email:
        mark_attempt_counted()
        registration.send_verification(current_user, current_language())
        flash(_("We have sent you a new link. Please check your mailbox."), "success")
    elif current_user.is_verified:
        flash(_("Your e-mail address is already verified."), "info")
    return redirect(target)
