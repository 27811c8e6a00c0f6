"""What the customer is told about their order, through the one notifications service."""

from __future__ import annotations

from ...extensions import db
from ...models import Order, User
from .carriers import carrier_name

KINDS = ("order_confirmed", "payment_received", "shipped", "fapiao_issued")


def tell_customer(order: Order, kind: str) -> None:
    """In-site message plus mail (or SMS without e-mail), in the caller's transaction."""
    from ..notifications import notify

    if kind not in KINDS:
        raise ValueError(kind)
    owner = db.session.get(User, order.user_id)
    if owner is None or not owner.is_active:
        return
    params = {"number": order.number, "total": str(order.total)}
    if kind == "shipped":
        params.update(carrier=str(carrier_name(order.carrier)), tracking=order.tracking_number)
    if kind == "fapiao_issued":
        params.update(fapiao_number=order.fapiao_number)
    notify(owner, kind, f"/orders/{order.number}", **params)
