"""Staff accounts' second factor: another staff member resets a lost authenticator (audited)."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..models import User
from ..privacy.forms import ActionForm
from ..security import no_store, staff_required
from ..services.accounts import second_factor
from . import bp


@bp.post("/users/<int:user_id>/second-factor/reset")
@staff_required
@no_store
def staff_second_factor_reset(user_id: int):
    """A colleague lost their phone and recovery codes: their sessions end, they enrol again."""
    if not ActionForm().validate_on_submit():
        abort(400)
    user = db.session.get(User, user_id)
    if user is None or not user.is_staff:
        abort(404)
    if user.id == current_user.id:  # one's own: with a recovery code, never alone
        abort(400)
    if second_factor.reset(user, current_user):
        flash(
            _("The second factor has been reset. The staff member enrols again at next sign-in."),
            "success",
        )
    return redirect(url_for("admin.privacy_user", user_id=user.id))
