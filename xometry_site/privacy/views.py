"""My data (5.1), consents and their withdrawal (5.5), policy updates (7) and notices (3.2)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..auth.sessions import forget_remembered_devices
from ..extensions import db
from ..i18n import current_language
from ..policies import current_edition, get_edition, load_document
from ..security import is_safe_next, no_store
from ..services import cookies
from ..services.privacy import (
    audit_trail,
    erasure,
    erasure_terms,
    notices,
    pi_registry,
    provisions,
    withdrawal,
)
from ..services.privacy import consents as consent_records
from ..services.privacy import export as exports
from ..services.privacy import requests as privacy_requests
from . import bp, presenters
from .forms import ActionForm, WithdrawForm

WITHDRAWN = {
    "subscription": _l("You will receive no more newsletters from us."),
    "cookies_functional": _l(
        "Functional cookies are off: “remember me” no longer works on any device, so you "
        "will sign in again on your other devices."
    ),
    "sensitive_tax_id": _l(
        "Your consent is withdrawn and the ID number stored as your tax number has been erased."
    ),
}


@bp.app_context_processor
def inject_privacy_helpers() -> dict:
    """Helpers for templates: value and code names, request labels, the banner (queried when used)."""
    return {
        "pi_value": presenters.show_value,
        "pi_code": presenters.code_name,
        "request_kinds": privacy_requests.KIND_LABELS,
        "request_statuses": privacy_requests.STATUS_LABELS,
        "request_decline_reasons": privacy_requests.DECLINE_REASONS,
        "request_overdue": privacy_requests.is_overdue,
        "pi_when": presenters.when,
        "privacy_banner": _banner,
        "policy_edition_id": _edition_id,
    }


def _edition_id(recorded: str) -> str:
    """The id a recorded edition is published under now (a date id of the past resolves)."""
    edition = get_edition(current_app.config, recorded)
    return edition.id if edition else recorded


def _banner() -> dict:
    """What `privacy/_notices.html` shows a signed-in user: a policy update and unread notices
    (empty when there is neither, and base.html then skips the include)."""
    if not current_user.is_authenticated or current_user.is_deregistered:
        return {}
    outdated = notices.outdated_policy_edition(current_user)
    unread = current_user.unread_notice_count  # loaded with the user (models.User)
    data: dict = {}
    if unread:
        data["notices"] = notices.visible_to(current_user)
    if outdated:
        edition = current_edition(current_app.config)
        data["policy"] = {
            "accepted": outdated,
            "current": edition,
            "changes": load_document(edition, current_language())["changes"],
        }
    return data


def _back():
    """Return to the page the button was on (same site only), else to My data."""
    root, target = request.host_url, request.referrer or ""
    if target.startswith(root) and is_safe_next("/" + target[len(root) :]):
        return redirect(target)
    return redirect(url_for("privacy.index"))


@bp.get("")
@login_required
@no_store
def index():
    """Everything we hold about the signed-in user, by the policy appendix's categories."""
    user = current_user
    found = pi_registry.collect(db.session, db.metadata, user.id)
    return render_template(
        "privacy/index.html",
        groups=pi_registry.by_category(found),
        consent_records=found.get("consents", []),
        staff_access=audit_trail.staff_access_to(user.id),
        exports=exports.list_for(user),
        requests=privacy_requests.for_user(user),
        notices=notices.all_for(user),
        provisions=provisions.for_customer(user),
        kept=erasure.kept_drawings(user),
        drawing_places=erasure.drawing_places(user),
        order_years=current_app.config["RETENTION_ORDER_YEARS"],
        ordered_refs={quote.ref for quote in erasure_terms.ordered_quotes(user)},
        action_form=ActionForm(),
        action_label=presenters.action_label,
        target_label=presenters.target_label,
    )


@bp.route("/consents", methods=["GET", "POST"])
@login_required
@no_store
def consents_page():
    """Every consent with its edition and date; withdrawing is one click and immediate."""
    form = WithdrawForm()
    if form.validate_on_submit():
        kind = form.kind.data
        withdrawal.withdraw(current_user, kind)
        response = redirect(url_for("privacy.consents_page"))
        if kind == "cookies_functional":
            cookies.set_choice(response, set())
            forget_remembered_devices(current_user)
        flash(str(WITHDRAWN[kind]), "success")
        return response
    if request.method == "POST":
        abort(400)
    return render_consents(form)


def render_consents(form: WithdrawForm, third_party_form=None, code: int = 200):
    """The consents page (also shown again, with the error, when a third-party choice is refused)."""
    return render_template(
        "privacy/consents.html",
        records=withdrawal.history(current_user),
        active=withdrawal.in_force(
            current_user, functional_cookies_in_browser=cookies.allows(cookies.FUNCTIONAL)
        ),
        withdrawable=withdrawal.WITHDRAWABLE,
        labels=consent_records.LABELS,
        general=consent_records.GENERAL,
        form=form,
        third_parties=provisions.consent_choices(current_user),
        third_party_form=third_party_form,
    ), code


@bp.post("/policy/accept")
@login_required
@no_store
def policy_accept():
    """Record consent to the edition now in force."""
    if not ActionForm().validate_on_submit():
        abort(400)
    notices.accept_current_policy(current_user, request.remote_addr)
    flash(_("Thank you. You have accepted the current Data Protection Policy."), "success")
    return _back()


@bp.get("/policy/decline")
@login_required
@no_store
def policy_decline():
    """What not accepting the new edition means: take a copy, then deregister; or ask us."""
    return render_template(
        "privacy/policy_decline.html",
        edition=current_edition(current_app.config),
        accepted=notices.outdated_policy_edition(current_user),
        form=ActionForm(),
    )


@bp.post("/notices/<int:notice_id>/dismiss")
@login_required
@no_store
def notice_dismiss(notice_id: int):
    """Hide a notice from the banner; it stays under My data. Another user's notice is a 404."""
    if not ActionForm().validate_on_submit():
        abort(400)
    if not notices.dismiss(current_user, notice_id):
        abort(404)
    return _back()
