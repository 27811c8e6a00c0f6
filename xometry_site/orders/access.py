"""Who may see an order: its owner; anyone else (staff included, who use /admin) gets 404."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from ..extensions import db
from ..models import Order


def order_or_404(number: str) -> Order:
    order = db.session.scalar(db.select(Order).filter_by(number=number, user_id=current_user.id))
    if order is None:
        abort(404)
    return order
