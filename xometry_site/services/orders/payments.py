"""Money received for an order: a bank transfer staff record, or a payment a signed WeChat Pay
notification confirms. Either way the order is paid only when what arrived covers its total; a
partial or excess amount is flagged for staff, never silently taken as payment in full."""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal

from ...extensions import db
from ...models import Order, OrderEvent, Payment, User
from ...models.base import utcnow
from ..quotes.records import money
from .fulfilment import OrderError

log = logging.getLogger(__name__)


def record_transfer(
    order: Order,
    staff: User,
    amount: Decimal,
    received_on: date,
    reference: str,
    now: datetime | None = None,
) -> Payment:
    """A corporate transfer seen on the bank statement (committed)."""
    if not staff.is_staff:
        raise OrderError("not_staff")
    if order.status in ("cancelled", "refunded"):
        raise OrderError("not_payable")
    amount = money(amount)
    if amount <= 0:
        raise OrderError("bad_amount")
    payment = Payment(
        method="bank_transfer",
        status="succeeded",
        amount=amount,
        reference=reference.strip()[:64],
        received_on=received_on,
        recorded_by_id=staff.id,
        succeeded_at=now or utcnow(),
    )
    order.payments.append(payment)
    apply_payment(order, payment, actor=staff, now=now)
    db.session.commit()
    return payment


def apply_payment(
    order: Order, payment: Payment, actor: User | None = None, now: datetime | None = None
) -> None:
    """Count a succeeded payment (the caller commits): paid in full → "paid"; short or over →
    flagged on the payment and on the timeline for staff to settle."""
    before = order.outstanding
    order.amount_paid = money((order.amount_paid or Decimal(0)) + payment.amount)
    if payment.amount < before:
        payment.flag = "partial"
    elif payment.amount > before:
        payment.flag = "excess"
    note = f"payment_{payment.flag}" if payment.flag else "payment_received"
    order.events.append(
        OrderEvent(status=order.status, note=note, actor_id=actor.id if actor else None)
    )
    if order.status == "awaiting_payment" and order.amount_paid >= order.total:
        order.status = "paid"
        order.paid_at = now or utcnow()
        order.events.append(OrderEvent(status="paid", actor_id=actor.id if actor else None))
        _tell_customer_paid(order)
    log.info(
        "order.payment order=%s payment=%s method=%s flag=%s",
        order.id,
        payment.id,
        payment.method,
        payment.flag or "-",
    )


def _tell_customer_paid(order: Order) -> None:
    """The "payment received" service message (in-site, and mail or SMS)."""
    from .notices import tell_customer

    tell_customer(order, "payment_received")
