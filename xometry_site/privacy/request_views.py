"""Requests (5.7): from a signed-in user, or from a visitor whose e-mail a mailed code proves."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import limiter
from ..i18n import current_language
from ..security import no_store
from ..services.privacy import requests as requests_service
from . import bp
from .forms import ActionForm, CodeForm, RequestForm
from .presenters import when

PENDING_KEY = "privacy_request"


def _is_signed_in() -> bool:
    return current_user.is_authenticated


def _per_account() -> str:
    """Signed-in users are limited by account id (never the session token, which changes)."""
    if current_user.is_authenticated:
        return f"privacy-request:{current_user.id}"
    return f"privacy-request-ip:{request.remote_addr}"


@bp.route("/requests", methods=["GET", "POST"])
@limiter.limit("5 per hour; 20 per day", methods=["POST"], exempt_when=_is_signed_in)
@limiter.shared_limit(  # one budget with the Mini Program's POST /privacy-requests
    "20 per day",
    scope="privacy-request",
    methods=["POST"],
    key_func=_per_account,
    exempt_when=lambda: not _is_signed_in(),
)
@no_store
def requests():
    """File a request; signed-in users also see theirs with status and due date."""
    signed_in = current_user.is_authenticated
    form = RequestForm(needs_email=not signed_in)
    if request.method == "GET" and request.args.get("kind") in requests_service.KIND_LABELS:
        form.kind.data = request.args["kind"]
    if form.validate_on_submit():
        if signed_in:
            req = requests_service.file_for_user(current_user, form.draft(), current_language())
            flash(
                _(
                    "Your request has been received. We will answer by %(date)s.",
                    date=when(req.due_on),
                ),
                "success",
            )
            return redirect(url_for("privacy.requests"))
        req = requests_service.start_for_visitor(form.email.data, form.draft(), current_language())
        session[PENDING_KEY] = req.public_id
        return redirect(url_for("privacy.request_confirm"))
    return render_template(
        "privacy/requests.html",
        form=form,
        mine=requests_service.for_user(current_user) if signed_in else [],
    )


@bp.route("/requests/confirm", methods=["GET", "POST"])
@no_store
def request_confirm():
    """A visitor types the 6-digit code we mailed; then the request is filed."""
    req = requests_service.pending_for_visitor(session.get(PENDING_KEY))
    if req is None:
        abort(404)
    form = CodeForm()
    if req.status == "unverified" and form.validate_on_submit():
        try:
            requests_service.confirm_code(req, form.code.data)
        except requests_service.CodeExpired:
            form.code.errors.append(
                _("This code has expired or was mistyped too often. Ask for a new one.")
            )
        except requests_service.CodeWrong:
            form.code.errors.append(_("That is not the code we sent."))
    if req.status != "unverified":
        return render_template("privacy/request_filed.html", req=req)
    resend = ActionForm(prefix="resend")
    return render_template("privacy/request_confirm.html", form=form, resend=resend, req=req)


@bp.post("/requests/confirm/resend")
@limiter.limit("3 per 10 minutes; 10 per day")
@no_store
def request_code_resend():
    """A new code replaces the old one (mail lost, or too many wrong tries)."""
    req = requests_service.pending_for_visitor(session.get(PENDING_KEY))
    if req is None or req.status != "unverified":
        abort(404)
    if not ActionForm(prefix="resend").validate_on_submit():
        abort(400)
    requests_service.send_code(req)
    flash(_("We have sent you a new code."), "success")
    return redirect(url_for("privacy.request_confirm"))
