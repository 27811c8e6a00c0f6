"""The account's phone number: confirmed by a code sent to it (send code → enter code).

A number typed at e-mail registration is unproved until then: it signs nobody in, and it gives
way to whoever proves it. Confirming (or changing) the number changes how the account can sign
in, so the page asks for a recent proof first. Only after the code has proved the number does
the page say that another account holds it.
"""

from __future__ import annotations

import logging
import time

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth.code_messages import code_error
from ..auth.limits import (
    mark_code_refused,
    mark_sms_sent,
    sms_code_throttle,
    sms_send_throttle,
    submitted_phone_key,
)
from ..i18n import current_language
from ..security import no_store, reauth_required
from ..services import sms
from ..services.accounts import phone_codes, phones
from ..services.validators import mask_phone
from . import bp
from .phone_forms import PhoneCodeForm, PhoneForm

log = logging.getLogger(__name__)
STEP_KEY = "phone_proof"  # the number a confirmation code was sent to
STEP_SECONDS = phone_codes.LIFETIME_MINUTES * 60


def _entering_code() -> bool:
    """A POST that enters a code; any other POST asks for one."""
    return "code" in request.form and "resend" not in request.form


def _asking_for_code() -> bool:
    return not _entering_code()


def _waiting_phone() -> str | None:
    """The number a code was sent to from this page, while that code can still be valid."""
    step = session.get(STEP_KEY)
    if not isinstance(step, dict) or step.get("uid") != current_user.id:
        return None
    if not isinstance(step.get("at"), int) or time.time() - step["at"] > STEP_SECONDS:
        return None
    return step.get("phone")


def _page(form, status: int = 200):
    user = current_user
    return render_template(
        "account/phone.html",
        form=form,
        current=user.phone,
        proved=user.has_proved_phone,
    ), status


@bp.route("/phone", methods=["GET", "POST"])
@no_store
@login_required
@reauth_required
@sms_send_throttle(submitted_phone_key, unless=_entering_code)
@sms_code_throttle(submitted_phone_key, unless=_asking_for_code)
def phone():
    """Send a code to the number, then confirm it with the code."""
    if request.method == "POST":
        return _confirm() if _entering_code() else _send_code()
    if request.args.get("restart"):
        session.pop(STEP_KEY, None)
    waiting = _waiting_phone()
    if waiting:
        return _page(PhoneCodeForm(formdata=None, phone=waiting))
    return _page(PhoneForm(formdata=None, phone=current_user.phone))


def _send_code():
    form = PhoneForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    number = form.phone.e164
    if number == current_user.phone and current_user.has_proved_phone:
        flash(_("This number is already confirmed."), "info")
        return redirect(url_for("account.index", _anchor="account-information"))
    try:
        phone_codes.send(number, current_language(), purpose=phone_codes.PROVE)
    except sms.SmsError:
        flash(_("We could not send the text message just now. Please try again later."), "error")
        return _page(form, 503)
    mark_sms_sent()
    session[STEP_KEY] = {"uid": current_user.id, "phone": number, "at": int(time.time())}
    flash(
        _(
            "We have sent a 6-digit code to %(phone)s. It is valid for %(minutes)s minutes.",
            phone=mask_phone(number),
            minutes=phone_codes.LIFETIME_MINUTES,
        ),
        "success",
    )
    return redirect(url_for("account.phone"))


def _confirm():
    form = PhoneCodeForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        phones.prove(current_user._get_current_object(), form.phone.e164, form.code.data)
    except phone_codes.PhoneCodeError as error:
        mark_code_refused()
        log.info("account.phone_refused reason=%s user=%s", error.kind, current_user.id)
        form.code.errors.append(code_error(error))
        return _page(form, 400)
    except phones.PhoneTaken:
        session.pop(STEP_KEY, None)
        form.phone.errors.append(
            _(
                "This number is confirmed by another account. If that account is yours, sign in "
                "to it with a code sent to this number. We never merge accounts automatically."
            )
        )
        return _page(form, 409)
    session.pop(STEP_KEY, None)
    flash(
        _("Your phone number is confirmed. You can now sign in with a code sent to it."),
        "success",
    )
    return redirect(url_for("account.index", _anchor="account-information"))
