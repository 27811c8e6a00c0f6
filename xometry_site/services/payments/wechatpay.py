"""Starting a WeChat Pay payment for an order: Native (a QR code) or JSAPI (inside WeChat).

The payment row is committed, pending, before WeChat Pay is asked, so whatever notification
comes finds it; only a signed notification makes it "succeeded" (wechatpay_notify.py). Earlier
unpaid attempts are closed first, so one order is never paid twice through two codes.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app

from ...extensions import db
from ...models import Order, Payment, User, WeChatIdentity
from ..orders.fulfilment import OrderError
from .wechatpay_api import WeChatPayApi, WeChatPayError, client_for
from .wechatpay_settings import SettingsProblem, is_configured

log = logging.getLogger(__name__)


class PayError(Exception):
    """A payment that could not start; `code`: not_configured, unreachable, refused, confirming,
    no_payer (the Mini Program's OpenID of the account is not known)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class PaymentStart:
    """What the pay page shows: a code URL for a QR code, or JSAPI's signed parameters."""

    out_trade_no: str
    amount: Decimal
    code_url: str | None = None
    jsapi: dict[str, str] | None = None
    in_wechat: bool = False


def fen(amount: Decimal) -> int:
    """Yuan (two decimals) as integer fen, WeChat Pay's unit."""
    return int((amount * 100).to_integral_value())


def description(order: Order) -> str:
    """What the payer sees in WeChat (Chinese; nothing personal)."""
    return f"Xometry Asia 订单 {order.number}"


def payer_openid(user: User, appid: str) -> str | None:
    """The payer's OpenID under the AppID we pay with (JSAPI needs it), if they signed in with it."""
    return db.session.scalar(
        db.select(WeChatIdentity.openid).filter_by(user_id=user.id, appid=appid).limit(1)
    )


def start_payment(
    order: Order, user: User, in_wechat: bool, *, miniprogram: bool = False
) -> PaymentStart:
    """A new payment attempt for what is still due (committed), and its QR code or JSAPI call:
    JSAPI under the merchant's AppID inside WeChat's browser when the payer signed in with it,
    else a code; from the Mini Program always JSAPI under its AppID (its OpenID pays)."""
    if order.status != "awaiting_payment" or order.outstanding <= 0:
        raise OrderError("not_payable")
    if not is_configured(current_app.config):
        raise PayError("not_configured")
    try:
        api = client_for(current_app)
    except SettingsProblem:
        log.error("wechatpay.settings_unusable")
        raise PayError("not_configured") from None
    appid = api.settings.miniprogram_appid if miniprogram else api.settings.appid
    openid = payer_openid(user, appid) if appid and (in_wechat or miniprogram) else None
    if miniprogram and not openid:
        raise PayError("not_configured" if not appid else "no_payer")
    _close_earlier_attempts(order, api)
    if order.status != "awaiting_payment" or order.outstanding <= 0:
        raise OrderError("not_payable")  # paid while we closed the earlier attempts
    payment = Payment(
        method="wechat",
        status="pending",
        amount=order.outstanding,
        out_trade_no=f"{order.number}-{secrets.token_hex(4)}",
    )
    order.payments.append(payment)
    db.session.commit()
    try:
        if openid:
            prepay_id = api.jsapi_prepay(
                payment.out_trade_no, description(order), fen(payment.amount), openid, appid
            )
            start = PaymentStart(
                payment.out_trade_no,
                payment.amount,
                jsapi=api.jsapi_parameters(prepay_id, appid),
                in_wechat=True,
            )
        else:
            code_url = api.native_prepay(
                payment.out_trade_no, description(order), fen(payment.amount)
            )
            start = PaymentStart(
                payment.out_trade_no, payment.amount, code_url=code_url, in_wechat=in_wechat
            )
    except WeChatPayError as error:
        payment.status = "closed"  # the payer never got a code: nothing can be paid on it
        db.session.commit()
        raise PayError(error.kind) from None
    log.info(
        "wechatpay.started order=%s payment=%s trade_type=%s",
        order.id,
        payment.id,
        "JSAPI" if start.jsapi else "NATIVE",
    )
    return start


def _close_earlier_attempts(order: Order, api: WeChatPayApi) -> None:
    """Close the order's unpaid attempts at WeChat Pay; one already paid stops a new one."""
    for earlier in [p for p in order.payments if p.method == "wechat" and p.status == "pending"]:
        try:
            state = api.query(earlier.out_trade_no).get("trade_state")
        except WeChatPayError as error:
            if error.kind == "refused" and error.code == "ORDER_NOT_EXIST":
                state = "CLOSED"  # the prepay never reached WeChat Pay
            else:
                raise PayError(error.kind) from None
        if state in ("SUCCESS", "REFUND"):
            raise PayError("confirming")  # its notification is on its way (or retried)
        if state not in ("CLOSED", "REVOKED", "PAYERROR"):
            try:
                api.close(earlier.out_trade_no)
            except WeChatPayError as error:
                raise PayError(error.kind) from None
        earlier.status = "closed"
    db.session.commit()
