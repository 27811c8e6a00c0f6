"""Transfers (5.2): the customer confirms the processor's address; the processor collects once.

Both links arrive by mail, so both pages ask for a button press (POST) before anything happens: a
mail scanner that opens every link confirms nothing and spends no single-use download.
"""

from __future__ import annotations

from flask import Response, abort, render_template, stream_with_context

from ..extensions import limiter
from ..security import no_store
from ..services.privacy import export as exports
from ..services.privacy import staff_actions
from . import bp
from .forms import ActionForm

LINK_LIMIT = "30 per hour; 100 per day"  # per address: secrets cannot be guessed in bulk


@bp.route("/requests/transfer/<token>", methods=["GET", "POST"])
@limiter.limit(LINK_LIMIT)
@no_store
def transfer_confirm(token: str):
    """The link in the customer's own mailbox: confirm the address we will send the copy to."""
    req = staff_actions.request_for_confirmation(token)
    if req is None:
        return render_template("privacy/transfer_gone.html", confirm=True), 404
    form = ActionForm()
    if form.validate_on_submit():
        staff_actions.confirm_processor(req)
    return render_template("privacy/transfer_confirm.html", req=req, form=form)


@bp.route("/transfer/<token>", methods=["GET", "POST"])
@limiter.limit(LINK_LIMIT)
@no_store
def transfer_download(token: str):
    """The processor's link: a page, then the ZIP on the button, once; later a 404 page."""
    export = exports.transfer_for_token(token)
    if export is None:
        return render_template("privacy/transfer_gone.html", confirm=False), 404
    form = ActionForm()
    if not form.validate_on_submit():
        return render_template("privacy/transfer_download.html", export=export, form=form)
    chunks = exports.collect_transfer(export)
    if chunks is None:
        abort(404)
    name = f"xometry-transfer-{export.ready_at:%Y%m%d}-{export.id}.zip"
    response = Response(stream_with_context(chunks), mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Content-Length"] = str(export.size)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
