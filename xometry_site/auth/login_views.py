"""Sign in and sign out (the SMS code has its own module, as has re-authentication)."""

from __future__ import annotations

import logging

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from ..security import is_safe_next, no_store, safe_next
from ..services.accounts.sign_in import AccountClosing, SignInRefused, authenticate
from ..services.accounts.wechat import is_wechat_browser
from . import bp
from .closing_views import closing_page
from .forms import LoginForm
from .limits import login_throttle, mark_attempt_counted
from .sessions import end_session, start_session

log = logging.getLogger(__name__)
AFTER_SIGN_IN = "account.index"


def next_target() -> str:
    """Where to go after signing in: `next` when it is a same-site path."""
    target = request.args.get("next")
    if target and not is_safe_next(target):
        log.warning("security.next_refused endpoint=%s", request.endpoint)
    return safe_next(target, AFTER_SIGN_IN)


def after_sign_in(user):
    """Where a fresh sign-in goes: `next`; for a staff account first the second factor's code,
    before the session acts as staff."""
    if user.is_staff:
        target = request.args.get("next")
        target = target if is_safe_next(target) else None
        return redirect(url_for("auth.second_factor_code", next=target))
    return redirect(next_target())


@bp.route("/login", methods=["GET", "POST"])
@login_throttle
@no_store
def login():
    """A generic refusal whatever went wrong; a new session and `next` only to this site on success."""
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data)
        except AccountClosing as closing:  # the password was right: say so, offer to keep it
            return closing_page(closing.user, method="password", next_url=request.args.get("next"))
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
            return after_sign_in(user)
    elif request.method == "GET" and current_user.is_authenticated:
        return redirect(next_target())
    return render_template("auth/login.html", form=form, in_wechat=in_wechat_browser())


def in_wechat_browser() -> bool:
    """Inside WeChat's browser a QR code cannot be scanned: the pages put the SMS code first."""
    return is_wechat_browser(request.user_agent.string)


def wechat_reauth_usable() -> bool:
    """A fresh WeChat scan can confirm it is you: outside WeChat's browser, or inside it with an
    Official Account configured."""
    config = current_app.config
    return not in_wechat_browser() or bool(
        config.get("WECHAT_MP_APP_ID") and config.get("WECHAT_MP_APP_SECRET")
    )


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
