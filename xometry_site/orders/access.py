"""Who may see an order: its owner; anyone else (staff included, who use /admin) gets 404."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from ..models import Order
from ..services.orders.records import order_of


def order_or_404(number: str) -> Order:
    order = order_of(current_user, number)
    if order is None:
        abort(404)
    return order
