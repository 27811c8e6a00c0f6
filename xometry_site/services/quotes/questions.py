"""Staff questions about a quote and the customer's answers: asked while the quote is in review,
mailed to the customer, answered on the quote page; the queue shows which have a new answer."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from ...extensions import db
from ...models import Quote, QuoteMessage, User
from ..privacy import audit_trail
from .quote_pricing import review_due_date
from .records import QuoteError
from .review import mail_owner

log = logging.getLogger(__name__)

MESSAGE_MAX = 2000  # characters of one question or answer

# The queue's word for a quote's exchange: the customer answered last, or we wait for them.
ANSWERED, WAITING = "answered", "waiting"


def ask(quote: Quote, staff: User, body: str) -> QuoteMessage:
    """Put a question to the customer (the quote stays in review) and mail them a link to it."""
    if not staff.is_staff:
        raise QuoteError("not_staff")
    if quote.status != "in_review":
        raise QuoteError("not_askable")
    message = QuoteMessage(kind="question", author_id=staff.id, body=_checked(body))
    quote.messages.append(message)
    audit_trail.record(
        "staff.quote_question",
        subject_id=quote.user_id,
        actor_id=staff.id,
        target=f"quote:{quote.id}",
    )
    mail_owner(quote, "quote_question", question=message.body)
    db.session.commit()  # the question and its mail together
    log.info("quote.question quote=%s staff=%s", quote.id, staff.id)
    return message


def answer(quote: Quote, customer: User, body: str) -> QuoteMessage:
    """The owner answers the open question; our promised reply date starts again from now."""
    if quote.user_id != customer.id:
        raise QuoteError("not_owner")
    if not awaits_answer(quote):
        raise QuoteError("no_open_question")
    message = QuoteMessage(kind="answer", author_id=customer.id, body=_checked(body))
    quote.messages.append(message)
    if quote.status == "in_review":
        quote.review_due = review_due_date()
    db.session.commit()
    log.info("quote.answer quote=%s", quote.id)
    return message


def awaits_answer(quote: Quote) -> bool:
    """A question is open: the last message is ours and the quote is still open."""
    return quote.is_open and bool(quote.messages) and quote.messages[-1].kind == "question"


def exchange_states(quote_ids: Iterable[int]) -> dict[int, str]:
    """For the queue, in one query: ANSWERED or WAITING per quote that has messages."""
    ids = list(quote_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        db.select(QuoteMessage.quote_id, QuoteMessage.kind)
        .where(QuoteMessage.quote_id.in_(ids))
        .order_by(QuoteMessage.id)
    )
    last = {quote_id: kind for quote_id, kind in rows}
    return {qid: ANSWERED if kind == "answer" else WAITING for qid, kind in last.items()}


def _checked(body: str | None) -> str:
    text = (body or "").strip()
    if not text:
        raise QuoteError("empty_message")
    if len(text) > MESSAGE_MAX:
        raise QuoteError("message_too_long")
    return text
