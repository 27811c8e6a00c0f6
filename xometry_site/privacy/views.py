"""My data (5.1), consents and their withdrawal (5.5), policy updates (7) and notices (3.2)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import db
from ..i18n import current_language
from ..models import Consent
from ..policies import current_edition, load_document
from ..security import no_store
from ..services import consents, cookies, erasure, notices, pi_registry, privacy_requests
from ..services import export as exports
from . import bp, presenters
from .forms import WITHDRAWABLE, ActionForm, WithdrawForm


@bp.app_context_processor
def inject_privacy_helpers() -> dict:
    """Helpers for templates: value formatting, and the banner data (queried only when used)."""
    return {
        "pi_value": presenters.show_value,
        "pi_when": presenters.when,
        "privacy_banner": _banner,
    }


def _banner() -> dict:
    """What `privacy/_notices.html` shows a signed-in user: a policy update and unread notices."""
    if not current_user.is_authenticated or current_user.is_deregistered:
        return {}
    outdated = notices.outdated_policy_edition(current_user)
    data: dict = {"notices": notices.visible_to(current_user)}
    if outdated:
        edition = current_edition(current_app.config)
        data["policy"] = {
            "accepted": outdated,
            "current": edition,
            "changes": load_document(edition, current_language())["changes"],
        }
    return data


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
        staff_access=db.session.execute(_staff_access_query(user.id)).all(),
        exports=exports.list_for(user),
        requests=privacy_requests.for_user(user),
        notices=notices.all_for(user),
        kept=erasure.kept_drawings(user),
        action_form=ActionForm(),
        action_label=presenters.action_label,
        status_labels=privacy_requests.STATUS_LABELS,
        kind_labels=privacy_requests.KIND_LABELS,
    )


def _staff_access_query(user_id: int):
    """Who of our staff touched this user's data or drawings (not the user's own actions)."""
    from ..models import AuditEvent, User

    return (
        db.select(AuditEvent, User.name)
        .outerjoin(User, AuditEvent.actor_id == User.id)
        .where(
            AuditEvent.subject_id == user_id,
            AuditEvent.actor_id.is_not(None),
            AuditEvent.actor_id != user_id,
        )
        .order_by(AuditEvent.created_at.desc())
        .limit(200)
    )


@bp.route("/consents", methods=["GET", "POST"])
@login_required
@no_store
def consents_page():
    """Every consent with its edition and date; withdrawing is one click and immediate."""
    form = WithdrawForm()
    if form.validate_on_submit():
        return _withdraw(form.kind.data)
    if request.method == "POST":
        abort(400)
    records = db.session.scalars(
        db.select(Consent)
        .filter_by(user_id=current_user.id)
        .order_by(Consent.given_at.desc(), Consent.id.desc())
    ).all()
    active = {kind for kind in consents.LABELS if consents.active(current_user, kind)}
    return render_template(
        "privacy/consents.html",
        records=records,
        active=active,
        withdrawable=WITHDRAWABLE,
        labels=consents.LABELS,
        form=form,
    )


def _withdraw(kind: str):
    """Apply one withdrawal, with what it implies (cookie cleared, ID number erased)."""
    from ..account import invoicing, subscriptions

    user = current_user._get_current_object()
    response = redirect(url_for("privacy.consents_page"))
    if kind == "subscription":
        subscriptions.unsubscribe(user)
        flash(_("You will receive no more newsletters from us."), "success")
    elif kind == "cookies_functional":
        consents.withdraw(user, kind)
        db.session.commit()
        cookies.set_choice(response, set())
        flash(
            _("Functional cookies are off; the “remember me” cookie has been removed."), "success"
        )
    elif kind == "sensitive_tax_id":
        invoicing.forget_id_number(user)
        flash(
            _(
                "Your consent is withdrawn and the ID number stored as your tax number has been erased."
            ),
            "success",
        )
    return response


@bp.post("/policy/accept")
@login_required
@no_store
def policy_accept():
    """Record consent to the edition now in force."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    consents.record(current_user, "policy", ip=request.remote_addr, source="policy_update")
    db.session.commit()
    flash(_("Thank you. You have accepted the current Data Protection Policy."), "success")
    return redirect(request.referrer if _same_site(request.referrer) else url_for("privacy.index"))


def _same_site(target: str | None) -> bool:
    from ..security import is_safe_next

    if not target:
        return False
    root = request.host_url
    return target.startswith(root) and is_safe_next("/" + target[len(root) :])


@bp.get("/policy/decline")
@login_required
@no_store
def policy_decline():
    """What not accepting the new edition means: take a copy, then deregister; or ask us."""
    edition = current_edition(current_app.config)
    return render_template(
        "privacy/policy_decline.html",
        edition=edition,
        accepted=notices.outdated_policy_edition(current_user),
        form=ActionForm(),
    )


@bp.post("/notices/<int:notice_id>/dismiss")
@login_required
@no_store
def notice_dismiss(notice_id: int):
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    if not notices.dismiss(current_user, notice_id):
        abort(404)
    return redirect(request.referrer if _same_site(request.referrer) else url_for("privacy.index"))
