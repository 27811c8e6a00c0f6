"""Staff: the order board (status, overdue, awaiting payment) and one order's actions."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..models import Order, User
from ..models.base import utcnow
from ..orders.labels import ORDER_ERROR, STATUS
from ..security import no_store, staff_required
from ..services.orders import fapiao, fulfilment, payments
from ..services.orders.board import board_orders
from ..services.payments import wechatpay_refunds
from ..services.working_days import china_date
from . import bp
from .orders_forms import FapiaoForm, RefundForm, StatusForm, TransferForm

FILTERS = ("all", "awaiting_payment", "overdue", *STATUS)


@bp.get("/orders")
@staff_required
@no_store
def orders():
    shown = request.args.get("filter", "all")
    if shown not in FILTERS:
        shown = "all"
    today = china_date(utcnow())
    return render_template(
        "admin/orders.html",
        orders=board_orders(shown, today),
        shown=shown,
        filters=FILTERS,
        today=today,
        is_overdue=fulfilment.is_overdue,
    )


def _order_or_404(number: str) -> Order:
    order = db.session.scalar(db.select(Order).filter_by(number=number))
    if order is None:
        abort(404)
    return order


def _status_form(order: Order, form: StatusForm | None = None) -> StatusForm:
    form = form or StatusForm()
    form.status.choices = [(s, STATUS[s]) for s in fulfilment.NEXT_STATUSES.get(order.status, ())]
    return form


@bp.route("/orders/<number>", methods=["GET"])
@staff_required
@no_store
def order_detail(number: str):
    return _page(_order_or_404(number))


def _page(order: Order, code: int = 200, **forms):
    return render_template(
        "admin/order_detail.html",
        order=order,
        owner=db.session.get(User, order.user_id),
        transfer_form=forms.get("transfer") or TransferForm(),
        status_form=forms.get("status") or _status_form(order),
        fapiao_form=forms.get("fapiao") or FapiaoForm(),
        refund_form=RefundForm(),
        refundable=wechatpay_refunds.refundable(order) if order.status == "cancelled" else [],
        overdue=fulfilment.is_overdue(order, china_date(utcnow())),
    ), code


@bp.post("/orders/<number>/transfer")
@staff_required
def order_transfer(number: str):
    order = _order_or_404(number)
    form = TransferForm()
    if not form.validate_on_submit():
        return _page(order, 400, transfer=form)
    try:
        payment = payments.record_transfer(
            order, current_user, form.amount.data, form.received_on.data, form.reference.data
        )
    except fulfilment.OrderError as exc:
        form.form_errors.append(str(ORDER_ERROR.get(exc.code, exc.code)))
        return _page(order, 400, transfer=form)
    if payment.flag:
        flash(_("Recorded, and flagged: the amount does not match what is due."), "warning")
    else:
        flash(_("Payment recorded."), "success")
    return redirect(url_for("admin.order_detail", number=order.number))


@bp.post("/orders/<number>/status")
@staff_required
def order_status(number: str):
    order = _order_or_404(number)
    form = _status_form(order, StatusForm())
    if not form.validate_on_submit():
        return _page(order, 400, status=form)
    try:
        refunds = fulfilment.set_status(
            order, current_user, form.status.data, form.carrier.data, form.tracking_number.data
        )
    except fulfilment.OrderError as exc:
        field = {"no_carrier": form.carrier, "no_tracking": form.tracking_number}.get(exc.code)
        (field.errors if field else form.form_errors).append(
            str(ORDER_ERROR.get(exc.code, exc.code))
        )
        return _page(order, 400, status=form)
    flash(
        _("Order %(number)s: %(status)s.", number=order.number, status=STATUS[order.status]),
        "success",
    )
    _flash_refunds(refunds)
    return redirect(url_for("admin.order_detail", number=order.number))


@bp.post("/orders/<number>/refund")
@staff_required
def order_refund(number: str):
    """Ask WeChat Pay again for the refunds of a cancelled order (after a failure)."""
    order = _order_or_404(number)
    if not RefundForm().validate_on_submit():
        return _page(order, 400)
    _flash_refunds(wechatpay_refunds.refund_order(order))
    return redirect(url_for("admin.order_detail", number=order.number))


def _flash_refunds(outcome: wechatpay_refunds.RefundOutcome | None) -> None:
    """Tell staff what WeChat Pay said about the refunds a cancellation asked for."""
    if outcome is None or not outcome.any:
        return
    if outcome.failed:
        flash(
            _("WeChat Pay could not be asked for the refund; staff are alerted. Try again below."),
            "error",
        )
    elif outcome.processing:
        flash(_("WeChat Pay refund requested; the order becomes refunded when it is done."), "info")
    else:
        flash(_("Refunded through WeChat Pay."), "success")


@bp.post("/orders/<number>/fapiao")
@staff_required
def order_fapiao(number: str):
    order = _order_or_404(number)
    form = FapiaoForm()
    if not form.validate_on_submit():
        return _page(order, 400, fapiao=form)
    upload = form.file.data
    try:
        fapiao.attach_fapiao(
            order, current_user, form.number.data, upload.filename or "", upload.read()
        )
    except fulfilment.OrderError as exc:
        form.file.errors.append(str(ORDER_ERROR.get(exc.code, exc.code)))
        return _page(order, 400, fapiao=form)
    flash(_("The fapiao is stored and the customer is told."), "success")
    return redirect(url_for("admin.order_detail", number=order.number))
