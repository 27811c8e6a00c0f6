"""Requests (5.7): from a signed-in user, or from a visitor whose e-mail a mailed code proves."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db, limiter
from ..i18n import current_language
from ..models import PrivacyRequest
from ..security import no_store
from ..services import privacy_requests as requests_service
from . import bp
from .forms import ActionForm, CodeForm, RequestForm

PENDING_KEY = "privacy_request"


def _visitor_limit() -> str:
    return "5 per hour; 20 per day"


@bp.route("/requests", methods=["GET", "POST"])
@limiter.limit(_visitor_limit, methods=["POST"], exempt_when=lambda: current_user.is_authenticated)
@no_store
def requests():
    """File a request; signed-in users also see theirs with status and due date."""
    form = RequestForm()
    signed_in = current_user.is_authenticated
    if request.method == "GET" and request.args.get("kind") in requests_service.KIND_LABELS:
        form.kind.data = request.args["kind"]
    if form.validate_on_submit():
        if signed_in:
            req = requests_service.file_for_user(
                current_user,
                form.kind.data,
                form.details.data,
                form.processor.data,
                current_language(),
            )
            flash(
                _("Your request has been received. We will answer by %(date)s.", date=_date(req)),
                "success",
            )
            return redirect(url_for("privacy.requests"))
        if not form.email.data:
            form.email.errors.append(_("Enter your e-mail address: we send the answer there."))
        else:
            req = requests_service.start_for_visitor(
                form.email.data,
                form.kind.data,
                form.details.data,
                form.processor.data,
                current_language(),
            )
            session[PENDING_KEY] = req.public_id
            return redirect(url_for("privacy.request_confirm"))
    mine = requests_service.for_user(current_user) if signed_in else []
    return render_template(
        "privacy/requests.html",
        form=form,
        mine=mine,
        kind_labels=requests_service.KIND_LABELS,
        status_labels=requests_service.STATUS_LABELS,
        is_overdue=requests_service.is_overdue,
    )


def _date(req: PrivacyRequest) -> str:
    from .presenters import when

    return when(req.due_on)


@bp.route("/requests/confirm", methods=["GET", "POST"])
@no_store
def request_confirm():
    """A visitor types the 6-digit code we mailed; then the request is filed."""
    public_id = session.get(PENDING_KEY)
    req = (
        db.session.scalar(db.select(PrivacyRequest).filter_by(public_id=public_id))
        if public_id
        else None
    )
    if req is None:
        abort(404)
    form = CodeForm()
    resend = ActionForm(prefix="resend")
    if req.status != "unverified":
        return render_template(
            "privacy/request_filed.html", req=req, kind_labels=requests_service.KIND_LABELS
        )
    if form.validate_on_submit():
        try:
            requests_service.confirm_code(req, form.code.data)
        except requests_service.CodeExpired:
            form.code.errors.append(
                _("This code has expired or was mistyped too often. Ask for a new one.")
            )
        except requests_service.CodeWrong:
            form.code.errors.append(_("That is not the code we sent."))
        else:
            return render_template(
                "privacy/request_filed.html", req=req, kind_labels=requests_service.KIND_LABELS
            )
    return render_template("privacy/request_confirm.html", form=form, resend=resend, req=req)


@bp.post("/requests/confirm/resend")
@limiter.limit("3 per 10 minutes; 10 per day")
@no_store
def request_code_resend():
    public_id = session.get(PENDING_KEY)
    req = (
        db.session.scalar(db.select(PrivacyRequest).filter_by(public_id=public_id))
        if public_id
        else None
    )
    if req is None or req.status != "unverified":
        abort(404)
    if not ActionForm(prefix="resend").validate_on_submit():
        abort(400)
    requests_service.send_code(req)
    flash(_("We have sent you a new code."), "success")
    return redirect(url_for("privacy.request_confirm"))
