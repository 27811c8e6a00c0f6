"""Production and shipping as staff move an order along, and what the customer may still do."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from ...extensions import db
from ...models import Order, OrderEvent, User
from ...models.base import utcnow
from .carriers import CARRIERS

if TYPE_CHECKING:
    from ..payments.wechatpay_refunds import RefundOutcome

log = logging.getLogger(__name__)

# Which status may follow which, when staff set it by hand. Payment sets "paid" (payments.py).
NEXT_STATUSES = {
    "awaiting_payment": ("cancelled",),
    "paid": ("in_production", "cancelled"),
    "in_production": ("shipped",),
    "shipped": ("delivered",),
    "delivered": (),
    "cancelled": ("refunded",),
    "refunded": (),
}
MAX_TRACKING = 40


class OrderError(Exception):
    """A step on an order refused; `code` is a message key the view translates."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def set_status(
    order: Order,
    staff: User,
    status: str,
    carrier: str | None = None,
    tracking_number: str | None = None,
    now: datetime | None = None,
) -> RefundOutcome | None:
    """Move the order on (committed); shipping needs a carrier from the list and a number.
    Cancelling a paid order asks WeChat Pay to refund its WeChat payments: the RefundOutcome."""
    if not staff.is_staff:
        raise OrderError("not_staff")
    if status not in NEXT_STATUSES.get(order.status, ()):
        raise OrderError("bad_transition")
    moment = now or utcnow()
    if status == "shipped":
        number = (tracking_number or "").strip()
        if carrier not in CARRIERS:
            raise OrderError("no_carrier")
        if not number or len(number) > MAX_TRACKING:
            raise OrderError("no_tracking")
        order.carrier, order.tracking_number, order.shipped_at = carrier, number, moment
    elif status == "delivered":
        order.delivered_at = moment
    elif status == "cancelled":
        order.cancelled_at = moment
    order.status = status
    order.events.append(OrderEvent(status=status, actor_id=staff.id, created_at=moment))
    if status == "shipped":
        from .notices import tell_customer

        tell_customer(order, "shipped")
    db.session.commit()
    log.info("order.status order=%s status=%s", order.id, status)
    if status == "cancelled":
        from ..payments.wechatpay_refunds import refund_order

        return refund_order(order)
    return None


def is_overdue(order: Order, today) -> bool:
    """Not shipped by its ship-by date (China working days from the order)."""
    return order.status in ("awaiting_payment", "paid", "in_production") and order.ship_by < today
