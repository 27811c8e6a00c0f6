"""WeChat Pay's notifications: the only proof that a payment (or a refund) happened.

Before anything changes a notification must come from the platform key we hold (its serial),
be recent (WECHATPAY_NOTIFY_MAX_AGE), carry a valid signature and decrypt (wechatpayv3's
`callback`), and name our merchant and AppID, a WeChat payment of ours, its amount in fen and
CNY. A payment is applied once: one conditional UPDATE (pending or closed → succeeded) decides
which delivery counts, and only that one calls `apply_payment`, in the same transaction; a
replay or a second delivery finds the row already succeeded and is answered as a success.
Refusals are logged without personal data; a signed notification that contradicts our records
raises a staff alert. Answers follow API v3: 204 on success, 4xx/5xx with {code, message}.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from ...extensions import db
from ...models import Order, OrderEvent, Payment
from ...models.base import utcnow
from ..alerts import WECHATPAY_LATE_PAYMENT as LATE_PAYMENT
from ..alerts import WECHATPAY_MISMATCH as MISMATCH
from ..alerts import WECHATPAY_REFUND_FAILED as REFUND_FAILED
from ..alerts import raise_alert
from ..orders.payments import apply_payment
from .wechatpay import fen
from .wechatpay_api import SIGNATURE_TYPE, WeChatPayApi, client_for, fresh
from .wechatpay_settings import SettingsProblem, is_configured

log = logging.getLogger(__name__)

HEADERS = (
    "Wechatpay-Signature",
    "Wechatpay-Timestamp",
    "Wechatpay-Nonce",
    "Wechatpay-Serial",
    "Wechatpay-Signature-Type",
)


@dataclass(frozen=True)
class NotifyAnswer:
    """What to answer WeChat Pay: 204, or a status with v3's {code, message} body."""

    status: int
    message: str | None = None

    @property
    def body(self) -> dict[str, str] | None:
        return None if self.status < 300 else {"code": "FAIL", "message": self.message or ""}


class Refused(Exception):
    """A notification we do not act on: answered `status`, logged with `reason`."""

    def __init__(
        self, status: int, reason: str, alert: str | None = None, subject: str = ""
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.alert = alert
        self.subject = subject


ACCEPTED = NotifyAnswer(204)


def handle_notification(headers: Mapping[str, str], body: bytes) -> NotifyAnswer:
    """Verify, check and apply one notification; never raises."""
    trade = "-"
    try:
        if not is_configured(current_app.config):
            raise Refused(404, "not_configured")
        api = client_for(current_app)
        event = _verified(api, {name: headers.get(name, "") for name in HEADERS}, body)
        resource = event["resource"]
        trade = _safe(resource.get("out_trade_no"))
        kind = str(event.get("event_type") or "")
        if kind.startswith("TRANSACTION."):
            outcome = _apply_transaction(api, resource)
        elif kind.startswith("REFUND."):
            outcome = _apply_refund(api, resource)
        else:
            outcome = "ignored"
        log.info("wechatpay.notify event=%s out_trade_no=%s outcome=%s", kind, trade, outcome)
        return ACCEPTED
    except Refused as refused:
        db.session.rollback()
        log.warning(
            "wechatpay.notify_refused reason=%s out_trade_no=%s status=%s",
            refused.reason,
            trade,
            refused.status,
        )
        if refused.alert:
            raise_alert(refused.alert, refused.subject or f"wechatpay:{trade}")
        return NotifyAnswer(refused.status, refused.reason)
    except SettingsProblem:
        log.error("wechatpay.notify_refused reason=bad_settings")
        return NotifyAnswer(503, "unavailable")
    except SQLAlchemyError as error:
        db.session.rollback()
        log.error("wechatpay.notify_failed reason=database error=%s", type(error).__name__)
        return NotifyAnswer(503, "unavailable")
    except Exception:  # a bug of ours must not lose the notification: WeChat Pay retries a 503
        db.session.rollback()
        log.exception("wechatpay.notify_failed reason=unexpected out_trade_no=%s", trade)
        return NotifyAnswer(503, "unavailable")


def _verified(api: WeChatPayApi, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """The decrypted event, or Refused: our platform key's serial, fresh, signed, decryptable."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "not_utf8") from None
    if not headers["Wechatpay-Signature"]:
        raise Refused(401, "unsigned")
    if headers["Wechatpay-Serial"] != api.settings.platform_key_id:
        # checked before the library sees it: an unknown serial would make it fetch certificates
        raise Refused(401, "unknown_serial")
    if headers["Wechatpay-Signature-Type"] != SIGNATURE_TYPE:
        raise Refused(401, "signature_type")
    if not fresh(headers["Wechatpay-Timestamp"], api.settings.notify_max_age):
        raise Refused(401, "stale")
    try:
        event = api.callback(headers, text)
    except Exception:  # the library raises bare Exceptions (algorithm) and JSON errors
        event = None
    if not event:
        reason = "bad_signature" if not api.signature_holds(headers, text) else "undecryptable"
        raise Refused(401 if reason == "bad_signature" else 400, reason)
    if not isinstance(event.get("resource"), dict):
        raise Refused(400, "no_resource")
    return event


def _safe(value: Any) -> str:
    """An id for a log line: printable ASCII, short."""
    text = str(value or "-")[:40]
    return "".join(c if c.isalnum() or c in "-_|*@" else "?" for c in text)


def _payment(api: WeChatPayApi, resource: Mapping[str, Any]) -> Payment:
    """Our WeChat payment the resource names, after checking it is addressed to us."""
    trade = _safe(resource.get("out_trade_no"))
    if resource.get("mchid") != api.settings.mchid:
        raise Refused(400, "wrong_mchid", MISMATCH, f"wechatpay:{trade}")
    payment = db.session.scalar(
        db.select(Payment).filter_by(out_trade_no=str(resource.get("out_trade_no") or ""))
    )
    if payment is None or payment.method != "wechat":
        raise Refused(400, "unknown_out_trade_no", MISMATCH, f"wechatpay:{trade}")
    return payment


def _apply_transaction(api: WeChatPayApi, resource: Mapping[str, Any]) -> str:
    """A payment's result: applied once, or already applied (a replay), or nothing to do."""
    payment = _payment(api, resource)
    subject = f"payment:{payment.id}"
    if "appid" in resource and resource.get("appid") not in api.settings.appids:
        raise Refused(400, "wrong_appid", MISMATCH, subject)
    if resource.get("trade_state") != "SUCCESS":
        return "not_paid"  # only SUCCESS moves money; nothing to record
    amount = resource.get("amount")
    amount = amount if isinstance(amount, dict) else {}
    if amount.get("total") != fen(payment.amount) or amount.get("currency") != "CNY":
        raise Refused(400, "wrong_amount", MISMATCH, subject)
    transaction_id = str(resource.get("transaction_id") or "")[:64]
    if not transaction_id:
        raise Refused(400, "no_transaction_id")
    if payment.status in ("succeeded", "refunded"):
        if payment.reference != transaction_id:
            raise Refused(400, "other_transaction", MISMATCH, subject)
        return "replayed"
    now = _success_time(resource.get("success_time"))
    claimed = db.session.execute(
        db.update(Payment)
        .where(Payment.id == payment.id, Payment.status.in_(("pending", "closed")))
        .values(status="succeeded", reference=transaction_id, succeeded_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        return "replayed"  # another delivery applied it first
    db.session.refresh(payment)
    order = db.session.execute(
        db.select(Order)
        .where(Order.id == payment.order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    took_payment = order.status == "awaiting_payment"
    apply_payment(order, payment, actor=None, now=now)
    db.session.commit()
    if not took_payment:  # money for an order no longer payable: staff refund it
        raise_alert(LATE_PAYMENT, f"order:{order.id}")
    return "applied"


def _success_time(value: Any) -> datetime:
    """WeChat's success_time (RFC 3339, +08:00), else now."""
    try:
        return datetime.fromisoformat(str(value)).astimezone(UTC)
    except ValueError:
        return utcnow()


def _apply_refund(api: WeChatPayApi, resource: Mapping[str, Any]) -> str:
    """A refund's result: SUCCESS marks the payment refunded (once)."""
    payment = _payment(api, resource)
    subject = f"payment:{payment.id}"
    if resource.get("out_refund_no") != refund_number(payment):
        raise Refused(400, "unknown_refund", MISMATCH, subject)
    status = resource.get("refund_status")
    if status != "SUCCESS":
        raise_alert(REFUND_FAILED, subject)
        return f"refund_{_safe(status).lower()}"
    amount = resource.get("amount")
    refund_fen = amount.get("refund") if isinstance(amount, dict) else None
    if not isinstance(refund_fen, int) or not 0 < refund_fen <= fen(payment.amount):
        raise Refused(400, "wrong_refund_amount", MISMATCH, subject)
    return "refunded" if mark_refunded(payment, Decimal(refund_fen) / 100) else "replayed"


def refund_number(payment: Payment) -> str:
    """Our out_refund_no: one full refund per payment, so asking again is idempotent."""
    return f"{payment.out_trade_no}-R"


def mark_refunded(payment: Payment, amount: Decimal) -> bool:
    """succeeded → refunded once (committed); the order is refunded when nothing paid is left."""
    claimed = db.session.execute(
        db.update(Payment)
        .where(Payment.id == payment.id, Payment.status == "succeeded")
        .values(status="refunded", refunded_amount=amount)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        return False
    db.session.refresh(payment)
    order = db.session.execute(
        db.select(Order)
        .where(Order.id == payment.order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    order.events.append(OrderEvent(status=order.status, note="wechat_refunded"))
    others = db.session.scalar(
        db.select(db.func.count(Payment.id)).where(
            Payment.order_id == order.id, Payment.status == "succeeded"
        )
    )
    if order.status == "cancelled" and not others:
        order.status = "refunded"
        order.events.append(OrderEvent(status="refunded"))
    db.session.commit()
    log.info("wechatpay.refunded order=%s payment=%s", order.id, payment.id)
    return True
