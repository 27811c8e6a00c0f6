"""Quotes as stored: the workflow's error, money in fen, events, finding a quote by owner, the list, expiry."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import bindparam

from ...extensions import db
from ...models import Drawing, Quote, QuoteEvent, User
from ...models.base import utcnow
from ...read_only import writable

CENT = Decimal("0.01")


class QuoteError(Exception):
    """A workflow step refused; `code` is a message key the view translates."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def money(value: Decimal | float | int | str) -> Decimal:
    """Round half up to the fen, as invoices do."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def record_event(
    quote: Quote, status: str, reason: str | None = None, actor: User | None = None
) -> None:
    quote.events.append(
        QuoteEvent(status=status, reason=reason, actor_id=actor.id if actor else None)
    )


def quote_for(viewer: User, ref: str, *, as_staff: bool) -> Quote | None:
    """The quote with this ref if `viewer` owns it or acts as staff (a staff account whose session
    gave the second factor: the caller knows); None otherwise (→ 404)."""
    query = db.select(Quote).filter_by(ref=ref)
    if not (as_staff and viewer.is_staff):
        query = query.filter_by(user_id=viewer.id)
    quote = db.session.scalar(query)
    if quote is not None:
        expire_if_due(quote)
    return quote


def drawing_of(quote: Quote, drawing_id: int) -> Drawing | None:
    """A readable drawing of this quote (None for another quote's id or a shredded file)."""
    for drawing in quote.drawings:
        if drawing.id == drawing_id and drawing.deleted_at is None:
            return drawing
    return None


class ListedQuote(NamedTuple):
    """A row of the customer's quote list: plain values, so equal rows mean an equal table."""

    id: int
    ref: str
    process: str
    part_count: int
    created_at: datetime
    status: str
    total: Decimal | None
    valid_until: datetime | None
    ordered_total: Decimal | None

    @property
    def shown_total(self) -> Decimal | None:
        """The ordered lead time's total once ordered, else the standard one."""
        return self.ordered_total if self.ordered_total is not None else self.total


@lru_cache(maxsize=1)
def _listed_quotes():
    """Built once, as the user loader's: SQLAlchemy would otherwise work out the cache key of
    this statement (with its part-count subquery) again on every visit to the list. Columns, not
    Quote objects: the list shows eight of a quote's thirty columns, and nothing on it changes.
    The mapper's plain columns, run on the session's connection: the ORM's execution layer only
    passed the rows through (3 % of the list's instructions)."""
    columns = Quote.__mapper__.c
    return (
        db.select(*(columns[name] for name in ListedQuote._fields))
        .where(columns["user_id"] == bindparam("user_id"))
        .order_by(columns["created_at"].desc(), columns["id"].desc())
    )


def quotes_of(user: User) -> list[ListedQuote]:
    """The customer's quotes, newest first, each price lapsed whose validity has passed."""
    rows = [
        ListedQuote(*row)
        for row in db.session.connection().execute(_listed_quotes(), {"user_id": user.id})
    ]
    moment = utcnow()
    due = [row.id for row in rows if row.status == "quoted" and _lapsed(row.valid_until, moment)]
    if not due:
        return rows
    for quote in db.session.scalars(db.select(Quote).where(Quote.id.in_(due))):
        expire_if_due(quote, moment)
    return quotes_of(user)


def _lapsed(valid_until: datetime | None, moment: datetime) -> bool:
    return valid_until is not None and valid_until < moment


def expire_if_due(quote: Quote, now: datetime | None = None) -> bool:
    """A quoted price lapses after its validity: the quote becomes "expired" (committed)."""
    moment = now or utcnow()
    if quote.status == "quoted" and _lapsed(quote.valid_until, moment):
        writable()
        quote.status = "expired"
        record_event(quote, "expired")
        db.session.commit()
        return True
    return False
