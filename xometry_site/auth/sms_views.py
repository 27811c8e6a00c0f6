"""Signing in with a code sent by text message (`/login/sms`): first `phone`, then `code`.

Every valid mobile number is sent a code, whether or not an account has proved it: the page,
the text and the work done read the same for known and unknown numbers. Only once the code has
proved that the visitor holds the number does the page say that no account uses it. A number
that an account merely typed (unproved) opens nothing. Throttled per number and per IP for
sending and for entering codes, on top of each code's five tries.
"""

from __future__ import annotations

import logging
import time

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..i18n import current_language
from ..security import no_store
from ..services import sms
from ..services.accounts import phone_codes
from ..services.accounts.sign_in import (
    AccountClosing,
    NoAccountForPhone,
    SignInRefused,
    authenticate_by_code,
)
from ..services.validators import mask_phone
from . import bp
from .closing_views import closing_page
from .code_messages import code_error
from .forms import SmsCodeForm, SmsPhoneForm
from .limits import (
    mark_code_refused,
    mark_sms_sent,
    sms_code_throttle,
    sms_send_throttle,
    submitted_phone_key,
)
from .login_views import after_sign_in, in_wechat_browser, next_target
from .sessions import start_session

log = logging.getLogger(__name__)
STEP_KEY = "sms_login"  # the number a sign-in code was sent to, for the code step
STEP_SECONDS = phone_codes.LIFETIME_MINUTES * 60


def _entering_code() -> bool:
    """A POST that enters a code; any other POST asks for one (the first step, "send again")."""
    return "code" in request.form and "resend" not in request.form


def _asking_for_code() -> bool:
    return not _entering_code()


def _waiting_phone() -> str | None:
    """The number a code was sent to from this browser, while that code can still be valid."""
    step = session.get(STEP_KEY)
    if not isinstance(step, dict) or not isinstance(step.get("at"), int):
        return None
    if time.time() - step["at"] > STEP_SECONDS:
        return None
    return step.get("phone")


def _page(form, status: int = 200):
    return render_template("auth/login_sms.html", form=form, in_wechat=in_wechat_browser()), status


@bp.route("/login/sms", methods=["GET", "POST"])
@sms_send_throttle(submitted_phone_key, unless=_entering_code)
@sms_code_throttle(submitted_phone_key, unless=_asking_for_code)
@no_store
def login_sms():
    """Step one asks for the number and texts it a code; step two takes the code and signs in."""
    if request.method == "POST":
        return _check_code() if _entering_code() else _send_code()
    if current_user.is_authenticated:
        return redirect(next_target())
    if request.args.get("restart"):
        session.pop(STEP_KEY, None)
    waiting = _waiting_phone()
    if waiting:
        return _page(SmsCodeForm(formdata=None, phone=waiting))
    return _page(SmsPhoneForm())


def _send_code():
    """The same answer for every valid number: a code is on its way."""
    form = SmsPhoneForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    phone = form.phone.e164
    try:
        phone_codes.send(phone, current_language(), purpose=phone_codes.SIGN_IN)
    except sms.SmsError:
        flash(_("We could not send the text message just now. Please try again later."), "error")
        return _page(form, 503)
    mark_sms_sent()
    session[STEP_KEY] = {"phone": phone, "at": int(time.time())}
    flash(
        _(
            "We have sent a 6-digit code to %(phone)s. It is valid for %(minutes)s minutes.",
            phone=mask_phone(phone),
            minutes=phone_codes.LIFETIME_MINUTES,
        ),
        "success",
    )
    return redirect(url_for("auth.login_sms", next=request.args.get("next")))


def _check_code():
    """Sign in to the account that proved this number, or say why not (only once it is proved)."""
    form = SmsCodeForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        user = authenticate_by_code(form.phone.e164, form.code.data)
    except phone_codes.PhoneCodeError as error:
        mark_code_refused()
        log.info("auth.sign_in_failed method=sms reason=%s", error.kind)
        form.code.errors.append(code_error(error))
        return _page(form, 400)
    except NoAccountForPhone:
        session.pop(STEP_KEY, None)
        log.info("auth.sign_in_failed method=sms reason=no_account")
        return render_template("auth/login_sms_no_account.html"), 200
    except AccountClosing as closing:
        session.pop(STEP_KEY, None)
        return closing_page(closing.user, method="sms", next_url=request.args.get("next"))
    except SignInRefused as refusal:
        log.info(
            "auth.sign_in_failed method=sms reason=%s user=%s", refusal.reason, refusal.user_id
        )
        form.form_errors.append(
            _(
                "The account of this number has been closed. If you think this is a mistake, "
                "please write to us."
            )
        )
        return _page(form, 403)
    start_session(user, method="sms")
    return after_sign_in(user)
