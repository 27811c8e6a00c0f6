"""Separate consent to a named third party (policy 4, PIPL arts. 23 and 39): give or withdraw."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import limiter
from ..security import no_store
from ..services.privacy import provisions
from ..services.privacy.provisions import ProvisionRefused
from . import bp
from .forms import ThirdPartyConsentForm, WithdrawForm
from .views import render_consents


def _per_account() -> str:
    """One budget per account, shared with the Mini Program's POSTs (the id, never the session)."""
    if current_user.is_authenticated:
        return f"third-party-consent:{current_user.id}"
    return f"third-party-consent-ip:{request.remote_addr}"


@bp.post("/consents/third-parties")
@login_required
@limiter.shared_limit("30 per hour", scope="third-party-consent", key_func=_per_account)
@no_store
def third_party_consent():
    """Give the consent to one recipient that needs it, or withdraw it; both take effect at once."""
    form = ThirdPartyConsentForm()
    if not form.validate_on_submit():
        return render_consents(WithdrawForm(formdata=None), form, 400)
    recipient_id = form.recipient_id.data
    if form.decision.data == "withdraw":
        if provisions.withdraw_consent(current_user, recipient_id):
            flash(
                _("Your consent is withdrawn: we give this recipient nothing more of yours."),
                "success",
            )
        else:
            flash(_("You had not given your consent to this recipient."), "info")
        return redirect(url_for("privacy.consents_page", _anchor="third-parties"))
    try:
        consent = provisions.give_consent(current_user, recipient_id, request.remote_addr)
    except ProvisionRefused:
        form.recipient_id.errors = [
            _("This recipient does not ask for your consent (any more). Nothing was recorded.")
        ]
        return render_consents(WithdrawForm(formdata=None), form, 400)
    recipient = provisions.recipient_of(consent)
    flash(
        _(
            "Your consent is recorded: %(name)s may receive the information listed, for the "
            "purpose listed. You can withdraw it here at any time.",
            name=recipient.name(get_locale()),
        ),
        "success",
    )
    return redirect(url_for("privacy.consents_page", _anchor="third-parties"))
