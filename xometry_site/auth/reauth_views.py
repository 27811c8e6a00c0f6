"""Re-authentication before sensitive changes: the password again, or for an account without
one (signed up with WeChat) a code sent to its proved phone — which works inside WeChat's own
browser too — or a fresh scan with the WeChat account bound to it."""

from __future__ import annotations

import logging
import time
from urllib.parse import urlencode

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import confirm_login, current_user, login_required

from ..i18n import current_language
from ..security import mark_fresh_auth, no_store
from ..services import sms
from ..services.accounts import phone_codes
from ..services.accounts.sign_in import reauthenticate_by_code
from ..services.validators import mask_phone
from . import bp
from .code_messages import code_error
from .forms import ReauthCodeForm, ReauthenticateForm
from .limits import (
    account_phone_key,
    mark_attempt_counted,
    mark_sms_sent,
    reauth_throttle,
    sms_send_throttle,
)
from .login_views import next_target, wechat_reauth_usable

log = logging.getLogger(__name__)
REAUTH_CODE_KEY = "reauth_code_at"  # when a re-authentication code was last sent
CODE_SECONDS = phone_codes.LIFETIME_MINUTES * 60


def _sending_reauth_code() -> bool:
    """The POST asks for a code (the other POSTs enter one, or the password)."""
    return "send_code" in request.form


@bp.route("/reauthenticate", methods=["GET", "POST"])
@login_required
@reauth_throttle
@sms_send_throttle(account_phone_key, unless=lambda: not _sending_reauth_code())
@no_store
def reauthenticate():
    """The password again before a sensitive change; without one, a code or a WeChat scan."""
    target = next_target()
    if not current_user.has_password:
        return _reauthenticate_without_password(target)
    form = ReauthenticateForm()
    if form.validate_on_submit():
        if current_user.check_password(form.password.data):
            return _reauthenticated(target, "password")
        mark_attempt_counted()
        log.info("auth.reauth_failed user=%s", current_user.id)
        form.password.errors.append(_("This password is not correct."))
    return render_template("auth/reauthenticate.html", form=form, wechat_url=None)


def _reauthenticated(target: str, method: str):
    """Proved again: the session is fresh for REAUTH_MAX_AGE."""
    mark_fresh_auth()
    confirm_login()
    session.pop(REAUTH_CODE_KEY, None)
    log.info("auth.reauthenticated method=%s user=%s", method, current_user.id)
    return redirect(target)


def _reauthenticate_without_password(target: str):
    """A WeChat-only account: a code to its proved phone (works inside WeChat's browser too),
    or a fresh scan with the WeChat account bound to it."""
    user = current_user._get_current_object()
    wechat_url = None
    if user.wechat_identities and wechat_reauth_usable():
        wechat_url = "/auth/wechat/login?" + urlencode({"next": target})  # a fresh proof
    form = ReauthCodeForm() if user.has_proved_phone else None
    status = 200
    if form is not None and request.method == "POST":
        if _sending_reauth_code():
            return _send_reauth_code(user, target, form, wechat_url)
        if form.validate_on_submit():
            try:
                reauthenticate_by_code(user, form.code.data)
            except phone_codes.PhoneCodeError as error:
                mark_attempt_counted()
                log.info("auth.reauth_failed method=sms reason=%s user=%s", error.kind, user.id)
                form.code.errors.append(code_error(error))
            else:
                return _reauthenticated(target, "sms")
        status = 400
    return _reauth_page(user, form, wechat_url, status)


def _send_reauth_code(user, target: str, form, wechat_url):
    """A code to the account's own proved number (never one posted with the form)."""
    try:
        phone_codes.send(user.phone, current_language(), purpose=phone_codes.REAUTH)
    except sms.SmsError:
        flash(_("We could not send the text message just now. Please try again later."), "error")
        return _reauth_page(user, form, wechat_url, 503)
    mark_sms_sent()
    session[REAUTH_CODE_KEY] = int(time.time())
    flash(
        _(
            "We have sent a 6-digit code to %(phone)s. It is valid for %(minutes)s minutes.",
            phone=mask_phone(user.phone),
            minutes=phone_codes.LIFETIME_MINUTES,
        ),
        "success",
    )
    return redirect(url_for("auth.reauthenticate", next=target))


def _reauth_page(user, form, wechat_url, status: int):
    """The ways this account can confirm it is you; the code field once a code was sent."""
    sent_at = session.get(REAUTH_CODE_KEY)
    recently = isinstance(sent_at, int) and time.time() - sent_at < CODE_SECONDS
    return render_template(
        "auth/reauthenticate.html",
        form=None,
        code_form=form,
        code_sent=recently or request.method == "POST",
        masked_phone=mask_phone(user.phone) if user.has_proved_phone else None,
        wechat_url=wechat_url,
    ), status
