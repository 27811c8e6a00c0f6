"""Routes of "My orders": the list, one order, its status for polling, reorder."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..quotes.downloads import content_disposition
from ..read_only import reads_only
from ..security import no_store
from ..services.orders import carriers, fulfilment, records, reorder
from ..services.orders import fapiao as fapiao_files
from ..services.quotes import drawing_files
from ..services.quotes.records import QuoteError
from . import bp, labels
from .access import order_or_404
from .forms import ReorderForm


@bp.get("/")
@reads_only
@login_required
@no_store
def index():
    orders = [order for order, _ref in records.orders_of(current_user)]
    return render_template("orders/index.html", orders=orders)


@bp.get("/<number>")
@reads_only
@login_required
@no_store
def detail(number: str):
    order = order_or_404(number)
    return render_template(
        "orders/detail.html",
        order=order,
        tracking_url=carriers.tracking_url(order.carrier, order.tracking_number),
        overdue=fulfilment.is_overdue(order, _today()),
    )


@bp.get("/<number>/status")
@reads_only
@login_required
@no_store
def status(number: str):
    """What the order page polls while a payment is under way."""
    order = order_or_404(number)
    return jsonify(
        status=order.status,
        label=str(labels.STATUS.get(order.status, order.status)),
        paid=order.status not in ("awaiting_payment", "cancelled"),
        outstanding=str(order.outstanding),
    )


@bp.post("/<number>/reorder")
@login_required
def reorder_parts(number: str):
    order = order_or_404(number)
    if not ReorderForm().validate_on_submit():
        return redirect(url_for("orders.detail", number=order.number))
    try:
        quote = reorder.reorder(order, current_user)
    except QuoteError as exc:
        flash(str(labels.ORDER_ERROR.get(exc.code, exc.code)), "error")
        return redirect(url_for("orders.detail", number=order.number))
    flash(_("A new quote with the same parts is being priced at today's rates."), "success")
    return redirect(url_for("quotes.detail", ref=quote.ref))


@bp.get("/<number>/fapiao")
@login_required
def fapiao(number: str):
    order = order_or_404(number)
    try:
        chunks = fapiao_files.open_fapiao(order)
    except (fulfilment.OrderError, *drawing_files.READ_ERRORS):
        abort(404)
    response = Response(chunks, mimetype=fapiao_files.content_type(order.fapiao_filename))
    response.headers["Content-Disposition"] = content_disposition(order.fapiao_filename or "")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.app_context_processor
def order_helpers() -> dict:
    """Labels and carrier names for order pages, staff pages and mail."""
    from ..quotes import labels as quote_labels

    return {
        "order_labels": labels,
        "quote_labels": quote_labels,
        "carrier_name": carriers.carrier_name,
    }


def _today():
    from ..models.base import utcnow
    from ..services.working_days import china_date

    return china_date(utcnow())
