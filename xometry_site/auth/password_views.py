"""Forgotten password: ask for a link, then choose a new password with it."""

from __future__ import annotations

import logging

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from ..i18n import current_language
from ..security import no_store
from ..services.accounts.password_reset import change_password, request_reset, user_for_reset_token
from ..services.accounts.passwords import PasswordRejected
from ..services.tokens import TokenExpired, TokenInvalid
from . import bp
from .forms import ForgotPasswordForm, ResetPasswordForm, password_message
from .limits import forgot_throttle, mark_attempt_counted, reset_throttle

log = logging.getLogger(__name__)


@bp.route("/password/forgot", methods=["GET", "POST"])
@forgot_throttle
@no_store
def forgot_password():
    """The same page whether or not the address has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        mark_attempt_counted()
        request_reset(form.email.data, current_language())
        return render_template("auth/forgot_sent.html")  # the same for known and unknown addresses
    return render_template("auth/forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@reset_throttle
@no_store
def reset_password(token: str):
    """A link bound to the current password hash: once used, it no longer fits."""
    form = ResetPasswordForm()
    if form.is_submitted():
        mark_attempt_counted()
    try:
        user = user_for_reset_token(token)
    except TokenExpired:
        log.info("auth.reset_denied reason=expired")
        return render_template("auth/reset_link_problem.html", outcome="expired"), 400
    except TokenInvalid:
        log.info("auth.reset_denied reason=invalid")
        return render_template("auth/reset_link_problem.html", outcome="invalid"), 400
    if form.validate_on_submit():
        try:
            change_password(user, form.password.data, lang=current_language(), reason="reset")
        except PasswordRejected as error:
            form.password.errors.append(password_message(error))
        else:
            flash(_("Your password has been changed. Please sign in with it."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form)
