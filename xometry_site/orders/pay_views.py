"""Paying an order with WeChat Pay: a QR code on a computer, JSAPI inside WeChat's browser."""

from __future__ import annotations

import segno
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from ..extensions import limiter
from ..security import no_store
from ..services.accounts.wechat import is_wechat_browser
from ..services.orders.fulfilment import OrderError
from ..services.payments import wechatpay
from ..services.payments.wechatpay_settings import is_configured
from . import bp, labels
from .access import order_or_404
from .forms import WeChatPayForm


def _pay_limit() -> str:
    return current_app.config["WECHATPAY_PAY_LIMIT"]


@bp.post("/<number>/pay/wechat")
@login_required
@limiter.limit(_pay_limit, key_func=lambda: f"wechat-pay:{current_user.get_id()}")
@no_store
def pay_wechat(number: str):
    """Start a WeChat Pay payment of what is due and show how to pay it."""
    order = order_or_404(number)
    if not WeChatPayForm().validate_on_submit():
        flash(_("Your form expired. Please try again."), "error")
        return redirect(url_for("orders.detail", number=order.number), 303)
    try:
        start = wechatpay.start_payment(
            order, current_user, is_wechat_browser(request.headers.get("User-Agent"))
        )
    except OrderError:
        flash(str(labels.ORDER_ERROR["not_payable"]), "error")
        return redirect(url_for("orders.detail", number=order.number), 303)
    except wechatpay.PayError as error:
        flash(str(labels.PAY_ERROR.get(error.code, labels.PAY_ERROR["refused"])), "error")
        return redirect(url_for("orders.detail", number=order.number), 303)
    return render_template(
        "orders/wechat_pay.html",
        order=order,
        start=start,
        qr=_qr_svg(start.code_url) if start.code_url else None,
    )


def _qr_svg(code_url: str) -> Markup:
    """The code URL as an inline SVG QR code, drawn here (no outside service sees it)."""
    code = segno.make(code_url, error="m", micro=False)
    svg = code.svg_inline(scale=6, border=2, dark="#000", light="#fff", title=None)
    # segno's own SVG of the code: no markup comes from input
    return Markup(svg)  # noqa: S704  # nosec B704


@bp.app_context_processor
def wechatpay_helpers() -> dict:
    """Whether the order page offers WeChat Pay."""
    return {"wechatpay_enabled": is_configured(current_app.config)}
