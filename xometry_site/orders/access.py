"""Who may see an order: its owner; anyone else (staff included, who use /admin) gets 404."""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy.orm import defer

from ..extensions import db
from ..models import Order


def order_or_404(number: str) -> Order:
    """The user's own order; the sealed invoice details are read (and decrypted) only when shown."""
    order = db.session.scalar(
        db.select(Order)
        .options(defer(Order.invoice_sealed))
        .filter_by(number=number, user_id=current_user.id)
    )
    if order is None:
        abort(404)
    return order
