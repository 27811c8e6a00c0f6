"""Sign in, sign out, and re-authentication before sensitive changes."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import confirm_login, current_user, login_required
from markupsafe import Markup

from ..security import is_safe_next, mark_fresh_auth, no_store, safe_next
from ..services.accounts.sign_in import SignInRefused, authenticate
from . import bp
from .forms import LoginForm, ReauthenticateForm
from .limits import login_throttle, mark_attempt_counted, reauth_throttle
from .sessions import end_session, start_session

log = logging.getLogger(__name__)
AFTER_SIGN_IN = "account.index"


def _next_target() -> str:
    target = request.args.get("next")
    if target and not is_safe_next(target):
        log.warning("security.next_refused endpoint=%s", request.endpoint)
    return safe_next(target, AFTER_SIGN_IN)


@bp.route("/login", methods=["GET", "POST"])
@login_throttle
@no_store
def login():
    """A generic refusal whatever went wrong; a new session and `next` only to this site on success."""
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data)
        except SignInRefused as refusal:
            mark_attempt_counted()
            log.info(
                "auth.sign_in_failed user=%s reason=%s",
                refusal.user_id or "unknown",
                refusal.reason,
            )
            form.form_errors.append(_("The e-mail address or the password is not correct."))
        else:
            remembered = start_session(user, method="password", remember=form.remember.data)
            if form.remember.data and not remembered:
                flash(_remember_refused_message(), "info")
            if user.is_staff:  # the second step: a code before the session acts as staff
                target = request.args.get("next")
                target = target if is_safe_next(target) else None
                return redirect(url_for("auth.second_factor_code", next=target))
            return redirect(_next_target())
    elif request.method == "GET" and current_user.is_authenticated:
        return redirect(_next_target())
    return render_template("auth/login.html", form=form)


def _remember_refused_message() -> Markup:
    """Why "remember me" did not apply, with the way to change it (a trusted, translated link)."""
    text = _(
        "You are signed in until you close the browser. To stay signed in on this device, "
        'accept functional cookies in the <a href="%(url)s">cookie settings</a>, then sign in again.'
    )
    # the text is our own catalogue entry; Markup % escapes the value put into it
    return Markup(text) % {"url": url_for("pages.cookie_settings")}  # noqa: S704  # nosec B704


@bp.post("/logout")
def logout():
    """POST with CSRF; ends every session of the user, not just this one."""
    if current_user.is_authenticated:
        end_session(current_user._get_current_object())
    flash(_("You have signed out."), "success")
    return redirect(url_for("pages.home"))


@bp.route("/reauthenticate", methods=["GET", "POST"])
@login_required
@reauth_throttle
@no_store
def reauthenticate():
    """The password again (or a fresh WeChat scan) before a sensitive change."""
    target = _next_target()
    if not current_user.has_password:
        wechat_url = "/auth/wechat/login?" + urlencode({"next": target})  # a fresh proof
        return render_template("auth/reauthenticate.html", form=None, wechat_url=wechat_url)
    form = ReauthenticateForm()
    if form.validate_on_submit():
        if current_user.check_password(form.password.data):
            mark_fresh_auth()
            confirm_login()
            log.info("auth.reauthenticated user=%s", current_user.id)
            return redirect(target)
        mark_attempt_counted()
        log.info("auth.reauth_failed user=%s", current_user.id)
        form.password.errors.append(_("This password is not correct."))
    return render_template("auth/reauthenticate.html", form=form, wechat_url=None)
