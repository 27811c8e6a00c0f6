"""What the customer is told about their order, through the one notifications service."""

from __future__ import annotations

from ...extensions import db
from ...models import Order, User


def tell_customer(order: Order, kind: str) -> None:
    """In-site message plus mail (or SMS without e-mail), in the caller's transaction."""
    from ..notifications import notify, path_for

    owner = db.session.get(User, order.user_id)
    if owner is None or not owner.is_active:
        return
    params: dict = {"number": order.number}
    if kind == "order_confirmed":
        params["total"] = order.total
    elif kind == "payment_received":
        params["amount"] = order.amount_paid
    elif kind == "shipped":
        params.update(carrier=order.carrier, tracking_number=order.tracking_number)
    elif kind != "fapiao_issued":
        raise ValueError(kind)
    notify(owner, kind, path_for("orders.detail", number=order.number), **params)
