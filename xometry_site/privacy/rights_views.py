"""Copy (5.1, 5.2), delete (5.4) and deregister (5.6): the rights that change or hand over data."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from ..extensions import limiter
from ..i18n import current_language
from ..security import no_store, reauth_required
from ..services.privacy import erasure, erasure_terms
from ..services.privacy import export as exports
from . import bp
from .forms import ActionForm, DeleteAllDrawingsForm, DeregisterForm


def _per_user() -> str:
    """Copies are limited per account (the id, never the session token)."""
    if current_user.is_authenticated:
        return f"privacy-export:{current_user.id}"
    return f"privacy-export-ip:{request.remote_addr}"


@bp.post("/export")
@login_required
@limiter.shared_limit("10 per day", scope="privacy-export", key_func=_per_user)  # + the API's
@no_store
def export_request():
    """Start building a copy; a mail says when it is ready."""
    if not ActionForm().validate_on_submit():
        abort(400)
    exports.request_export(current_user, current_language())
    flash(
        _("We are preparing a copy of your data. We will e-mail you when it is ready to download."),
        "success",
    )
    return redirect(url_for("privacy.index", _anchor="exports"))


@bp.get("/export/<public_id>")
@login_required
@no_store
def export_download(public_id: str):
    """The owner's ZIP for 7 days; anyone else, or later, gets 404."""
    export = exports.get_for_owner(current_user, public_id)
    if export is None:
        abort(404)
    chunks = exports.open_archive(export)
    name = f"xometry-data-{export.ready_at:%Y%m%d}.zip"
    response = Response(stream_with_context(chunks), mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Content-Length"] = str(export.size)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/drawings/delete-all", methods=["GET", "POST"])
@login_required
@no_store
def drawings_delete_all():
    """Delete every drawing at once (keys destroyed); drawings of orders are kept and explained."""
    form = DeleteAllDrawingsForm()
    if form.validate_on_submit():
        outcome = erasure.delete_drawings(current_user)
        flash(
            _("%(count)d drawings have been deleted for good.", count=outcome.shredded), "success"
        )
        if outcome.kept:
            flash(
                _("Drawings that belong to orders are kept as the law requires; see below."), "info"
            )
        return redirect(url_for("privacy.index", _anchor="category-quotes"))
    return render_template(
        "privacy/drawings_delete_all.html",
        form=form,
        live=erasure.live_drawing_count(current_user),
        kept=erasure.kept_drawings(current_user),
        until=erasure_terms.order_retention_until,
    )


@bp.post("/drawings/<int:drawing_id>/delete")
@login_required
@no_store
def drawing_delete(drawing_id: int):
    """Delete one drawing; another user's id, or one already deleted, is a 404."""
    if not ActionForm().validate_on_submit():
        abort(400)
    outcome = erasure.delete_drawings(current_user, [drawing_id])
    if outcome.kept:
        flash(_("This drawing belongs to an order and is kept as the law requires."), "info")
    elif outcome.shredded:
        flash(_("The drawing has been deleted for good."), "success")
    else:
        abort(404)
    return redirect(url_for("privacy.index", _anchor="category-quotes"))


@bp.post("/quotes/<ref>/delete")
@login_required
@no_store
def quote_delete(ref: str):
    """Delete one quote with its drawings (keys destroyed); an order is kept and says why."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        deleted = erasure.delete_quote(current_user, ref)
    except erasure.QuoteKept:
        flash(_("This quote became an order and is kept as the law requires."), "info")
    else:
        if not deleted:
            abort(404)
        flash(_("The quote and its drawings have been deleted for good."), "success")
    return redirect(url_for("privacy.index", _anchor="category-quotes"))


@bp.route("/deregister", methods=["GET", "POST"])
@login_required
@reauth_required
@no_store
def deregister():
    """Close the account: what is erased, what is kept by law and how long; then sign out."""
    form = DeregisterForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        erase_after = erasure.deregister(user)
        erased = user.erased_at is not None  # no cooling-off: the erasure job has already run
        logout_user()
        session.clear()
        return render_template(
            "privacy/deregistered.html",
            erase_after=erase_after,
            erased=erased,
            mailed=bool(user.email),
        )
    return render_template(
        "privacy/deregister.html",
        form=form,
        export_form=ActionForm(),
        erased=erasure_terms.erased_fields_by_category(),
        orders=erasure_terms.ordered_quotes(user),
        until=erasure_terms.order_retention_until,
        terms=erasure_terms.deregistration_terms(),
        reason=request.args.get("reason"),
    )


@bp.route("/deregister/cancel/<token>", methods=["GET", "POST"])
@no_store
def deregister_cancel(token: str):
    """The link in the confirmation mail: keep the account during the cooling-off."""
    user = erasure.user_for_cancel(token)
    form = ActionForm()
    if user is None:
        return render_template("privacy/deregister_cancel.html", user=None, form=form), 404
    if form.validate_on_submit():
        erasure.cancel_deregistration(user)
        flash(_("Your account has been kept. You can sign in again."), "success")
        return redirect(url_for("auth.login"))
    return render_template("privacy/deregister_cancel.html", user=user, form=form)
