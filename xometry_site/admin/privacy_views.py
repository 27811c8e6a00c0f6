"""Staff pages of the privacy center: data requests, notices, the audit log, accounts (minors)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..models import User
from ..privacy.admin_forms import AnswerForm, NoticeForm
from ..privacy.forms import ActionForm
from ..privacy.presenters import action_label
from ..security import no_store, staff_required
from ..services.accounts import second_factor
from ..services.privacy import audit_trail, erasure, notices
from ..services.privacy import requests as privacy_requests
from . import bp
from .request_actions_views import request_page

PAGE_SIZE = 100


@bp.app_template_global()
def privacy_queue_counts() -> dict[str, int]:
    """Waiting and overdue data requests, for the staff dashboard (queried only when shown)."""
    return privacy_requests.queue_counts()


@bp.get("/requests")
@staff_required
@no_store
def privacy_requests_queue():
    """Open requests, soonest due first; overdue ones flagged."""
    show_all = request.args.get("all") == "1"
    return render_template(
        "admin/requests.html",
        queue=privacy_requests.queue(include_closed=show_all),
        show_all=show_all,
    )


@bp.route("/requests/<int:request_id>", methods=["GET", "POST"])
@staff_required
@no_store
def privacy_request(request_id: int):
    """One request: read it (logged), answer it in the app; the requester is mailed."""
    req = privacy_requests.open_for_staff(request_id, current_user)
    if req is None:
        abort(404)
    form = AnswerForm(obj=req if request.method == "GET" else None)
    if request.method == "GET":
        form.decline_reason.data = req.decline_reason or ""
    if form.validate_on_submit():
        privacy_requests.answer(
            req,
            current_user,
            form.answer.data.strip(),
            form.status.data,
            form.decline_reason.data or None,
        )
        flash(_("Saved. The requester has been told."), "success")
        return redirect(url_for("admin.privacy_requests_queue"))
    return request_page(req, form)


@bp.route("/notices", methods=["GET", "POST"])
@staff_required
@no_store
def privacy_notices():
    """Write a notice in both languages, for everyone or a list of addresses."""
    form = NoticeForm()
    if form.validate_on_submit():
        addresses = notices.parse_addresses(form.emails.data)
        _notice, count, unknown = notices.publish(
            current_user, form.text(), form.audience.data, addresses
        )
        flash(_("The notice has been published to %(count)d users.", count=count), "success")
        if unknown:
            flash(
                _("No active account has these addresses: %(list)s", list=", ".join(unknown)),
                "warning",
            )
        return redirect(url_for("admin.privacy_notices"))
    return render_template("admin/notices.html", form=form, published=notices.published())


@bp.get("/audit")
@staff_required
@no_store
def privacy_audit():
    """Who accessed or changed whose personal information, newest first; filter by account."""
    subject = request.args.get("user", "").strip()
    action = request.args.get("action", "").strip()
    page = max(1, request.args.get("page", 1, type=int))
    account = int(subject) if subject.isdigit() else None
    events = audit_trail.search(account, action, page, PAGE_SIZE)
    return render_template(
        "admin/audit.html",
        events=events,
        page=page,
        subject=subject,
        action=action,
        has_more=len(events) == PAGE_SIZE,
        action_label=action_label,
    )


@bp.get("/users")
@staff_required
@no_store
def privacy_users():
    """Find an account by e-mail address, phone or id."""
    q = request.args.get("q", "").strip()
    found = privacy_requests.look_up_accounts(current_user, q)
    return render_template("admin/users.html", q=q, found=found)


@bp.get("/users/<int:user_id>")
@staff_required
@no_store
def privacy_user(user_id: int):
    """An account's state, for handling requests; opening it is logged on the user's record."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    audit_trail.record_staff_look("staff.viewed_user", current_user, user.id, f"user:{user.id}")
    return render_template(
        "admin/users_detail.html",
        account=user,
        form=ActionForm(),
        factor=second_factor.factor_of(user) if user.is_staff else None,
        recovery_codes_left=second_factor.recovery_codes_left(user) if user.is_staff else 0,
    )


@bp.post("/users/<int:user_id>/minor")
@staff_required
@no_store
def privacy_user_minor(user_id: int):
    """Policy 6: mark a minor's account; its erasure starts at once."""
    if not ActionForm().validate_on_submit():
        abort(400)
    user = db.session.get(User, user_id)
    if user is None or user.erased_at is not None:
        abort(404)
    if user.id == current_user.id:
        abort(400)
    erasure.mark_minor(user, current_user)
    flash(_("The account has been marked as a minor's; its data is being erased."), "success")
    return redirect(url_for("admin.privacy_user", user_id=user.id))
