"""Refunds through WeChat Pay when staff cancel a paid order before production.

Each succeeded WeChat payment of the order is refunded in full under an out_refund_no derived
from the payment, so asking again (a retry after a timeout, a second click) is the same refund
to WeChat Pay. An answer of SUCCESS marks it refunded at once; PROCESSING waits for the refund
notification (wechatpay_notify.py). A refund that cannot be asked for alerts staff, who retry it
from the order's staff page. Bank transfers are paid back by staff by hand.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal

from flask import current_app

from ...extensions import db
from ...models import Order, OrderEvent, Payment
from ..alerts import WECHATPAY_REFUND_FAILED as REFUND_FAILED
from ..alerts import raise_alert
from .wechatpay import fen
from .wechatpay_api import WeChatPayError, client_for
from .wechatpay_notify import mark_refunded, refund_number
from .wechatpay_settings import SettingsProblem, is_configured

log = logging.getLogger(__name__)


@dataclass
class RefundOutcome:
    """What happened to each WeChat payment of a cancelled order."""

    refunded: list[int] = field(default_factory=list)
    processing: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.refunded or self.processing or self.failed)


def refundable(order: Order) -> list[Payment]:
    """The order's WeChat payments that took money and have not been refunded."""
    return [p for p in order.payments if p.method == "wechat" and p.status == "succeeded"]


def refund_order(order: Order) -> RefundOutcome:
    """Ask WeChat Pay to refund a cancelled order's WeChat payments; never raises."""
    outcome = RefundOutcome()
    if order.status != "cancelled" or not is_configured(current_app.config):
        return outcome
    close_open_attempts(order)
    payments = refundable(order)
    if not payments:
        return outcome
    for payment in payments:
        try:
            answer = client_for(current_app).refund(
                payment.out_trade_no,
                refund_number(payment),
                fen(payment.amount),
                fen(payment.amount),
            )
        except (WeChatPayError, SettingsProblem) as error:
            log.warning(
                "wechatpay.refund_failed order=%s payment=%s kind=%s code=%s",
                order.id,
                payment.id,
                getattr(error, "kind", "settings"),
                getattr(error, "code", None),
            )
            raise_alert(REFUND_FAILED, f"payment:{payment.id}")
            outcome.failed.append(payment.id)
            continue
        status = answer.get("status")
        if status == "SUCCESS":
            refund_fen = (answer.get("amount") or {}).get("refund") or fen(payment.amount)
            mark_refunded(payment, Decimal(refund_fen) / 100)
            outcome.refunded.append(payment.id)
        elif status in ("PROCESSING", None):
            if not any(e.note == "refund_requested" for e in order.events):
                order.events.append(OrderEvent(status=order.status, note="refund_requested"))
                db.session.commit()
            outcome.processing.append(payment.id)
        else:  # CLOSED or ABNORMAL: a person must look at it
            raise_alert(REFUND_FAILED, f"payment:{payment.id}")
            outcome.failed.append(payment.id)
        log.info("wechatpay.refund order=%s payment=%s status=%s", order.id, payment.id, status)
    return outcome


def close_open_attempts(order: Order) -> None:
    """Close a cancelled order's unpaid attempts, so their codes can no longer be paid; one
    WeChat Pay will not close (paid meanwhile) is counted when its notification comes, and staff
    are alerted to refund it."""
    for payment in [p for p in order.payments if p.method == "wechat" and p.status == "pending"]:
        try:
            client_for(current_app).close(payment.out_trade_no)
        except (WeChatPayError, SettingsProblem) as error:
            if getattr(error, "code", None) != "ORDER_NOT_EXIST":
                log.warning("wechatpay.close_failed order=%s payment=%s", order.id, payment.id)
                continue
        payment.status = "closed"
    db.session.commit()
