"""The staff second factor: enrol an authenticator app, then give its code at each sign-in.

The password alone signs a staff member in as any account is signed in; the session acts as staff
(the /admin/ pages, other customers' quotes) only after a right code in this session.
"""

from __future__ import annotations

import logging

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..security import has_staff_proof, mark_staff_proof, no_store, reauth_required, safe_next
from ..services.accounts import second_factor
from . import bp
from .limits import mark_attempt_counted, staff_code_throttle
from .second_factor_forms import StaffCodeForm

log = logging.getLogger(__name__)
AFTER_PROOF = "admin.index"
FEW_RECOVERY_CODES = 3


def _staff_only():
    """Customers never learn these pages exist."""
    if not current_user.is_staff:
        abort(404)


def _target() -> str:
    return safe_next(request.args.get("next"), AFTER_PROOF)


@bp.route("/login/second-factor", methods=["GET", "POST"])
@login_required
@staff_code_throttle
@no_store
def second_factor_code():
    """After the password: a code from the app (or a recovery code) before staff pages open."""
    _staff_only()
    target = _target()
    if has_staff_proof():
        return redirect(target)
    user = current_user._get_current_object()
    if not second_factor.is_enrolled(user):
        return redirect(url_for("auth.second_factor_enrol", next=target))
    form = StaffCodeForm()
    if form.validate_on_submit():
        used = second_factor.verify(user, form.code.data)
        if used:
            mark_staff_proof(user)
            log.info("auth.second_factor_passed user=%s kind=%s", user.id, used)
            if used == "recovery":
                _recovery_code_used(user)
            return redirect(target)
        mark_attempt_counted()
        log.info("auth.second_factor_failed user=%s", user.id)
        form.code.errors.append(
            _(
                "This code is not right. The app shows a new code every 30 seconds: enter the "
                "one it shows now, or one of your recovery codes."
            )
        )
    status = 400 if form.errors else 200
    return render_template("auth/second_factor.html", form=form), status


def _recovery_code_used(user) -> None:
    """Say how many recovery codes are left, and what to do when they run low."""
    left = second_factor.recovery_codes_left(user)
    message = _("You signed in with a recovery code, which now no longer works.")
    if left <= FEW_RECOVERY_CODES:
        message += " " + _(
            "Only %(count)d recovery codes are left: if your phone is lost, ask another staff "
            "member to reset your second factor, then enrol again.",
            count=left,
        )
    flash(message, "warning")


@bp.route("/login/second-factor/enrol", methods=["GET", "POST"])
@login_required
@reauth_required
@staff_code_throttle
@no_store
def second_factor_enrol():
    """A QR code and the secret as text; the first right code completes the enrolment and the
    recovery codes are shown, once."""
    _staff_only()
    target = _target()
    user = current_user._get_current_object()
    if second_factor.is_enrolled(user):
        return redirect(url_for("auth.second_factor_code", next=target))
    factor = second_factor.start_enrolment(user)
    form = StaffCodeForm()
    if form.validate_on_submit():
        codes = second_factor.confirm_enrolment(user, form.code.data)
        if codes:
            mark_staff_proof(user)
            log.info("auth.second_factor_enrolled user=%s", user.id)
            return render_template("auth/second_factor_codes.html", codes=codes, target=target)
        mark_attempt_counted()
        form.code.errors.append(
            _(
                "This code is not right. Check that the app added the account from this page, "
                "and enter the six digits it shows now."
            )
        )
    uri = second_factor.provisioning_uri(factor, user)
    return render_template(
        "auth/second_factor_enrol.html",
        form=form,
        qr_code=second_factor.qr_code(uri),
        secret=second_factor.grouped(factor.secret),
    ), (400 if form.errors else 200)
