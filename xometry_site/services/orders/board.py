"""The staff order board: orders by status, the overdue ones, those waiting for money."""

from __future__ import annotations

from datetime import date

from ...extensions import db
from ...models import Order

OPEN = ("awaiting_payment", "paid", "in_production")


def board_orders(shown: str, today: date, limit: int = 200) -> list[Order]:
    """Overdue: not shipped by the ship-by date; the oldest waiting first, else newest first."""
    query = db.select(Order)
    if shown == "overdue":
        query = query.where(Order.status.in_(OPEN), Order.ship_by < today).order_by(Order.ship_by)
    elif shown != "all":
        query = query.filter_by(status=shown).order_by(Order.created_at.asc())
    else:
        query = query.order_by(Order.created_at.desc())
    return list(db.session.scalars(query.limit(limit)))
