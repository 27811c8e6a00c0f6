"""The customer's own orders and where to pay them: shared by the website's and the API's views."""

from __future__ import annotations

from functools import lru_cache

from flask import current_app
from sqlalchemy import Select, bindparam
from sqlalchemy.orm import defer, undefer

from ...extensions import db
from ...models import Order, Quote, User


def orders_of(user: User) -> list[tuple[Order, str | None]]:
    """The user's orders, newest first, each with the ref of the quote it came from."""
    rows = db.session.execute(
        db.select(Order, Quote.ref)
        .outerjoin(Quote, Quote.id == Order.quote_id)
        .where(Order.user_id == user.id)
        .order_by(Order.created_at.desc(), Order.id.desc())
    )
    return [(order, ref) for order, ref in rows]


def order_of(user: User, number: str) -> Order | None:
    """The user's order with this number; None for anyone else's (→ 404, staff included)."""
    return db.session.scalar(_order_by_number(), {"number": number, "user_id": user.id})


@lru_cache(maxsize=1)
def _order_by_number() -> Select:
    """Built once, so SQLAlchemy keeps its cache key (as auth/loading.py's user query). The
    sealed invoice details are read (and decrypted) only when shown; the newest step's id comes
    in the same query, for the page's kept sections."""
    return (
        db.select(Order)
        .options(defer(Order.invoice_sealed), undefer(Order.last_event_id))
        .where(Order.number == bindparam("number"), Order.user_id == bindparam("user_id"))
    )


def quote_ref(order: Order) -> str | None:
    """The ref of the quote the order was placed from."""
    if order.quote_id is None:
        return None
    return db.session.scalar(db.select(Quote.ref).filter_by(id=order.quote_id))


def bank_account() -> dict[str, str]:
    """The operator's account for corporate transfers (settings, see the README)."""
    config = current_app.config
    return {
        "name": config["BANK_ACCOUNT_NAME"],
        "bank": config["BANK_NAME"],
        "number": config["BANK_ACCOUNT_NUMBER"],
    }
