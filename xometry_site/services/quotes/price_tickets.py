"""Price tickets: what a part's live price needs, signed by the quote page that shows the part.

A live price reads only the pricing rules and the figures the analysis stored on the part
(`part_quote.quote_part`), plus, for the quote's total, what the other parts cost. The quote
page, which has just loaded all of that for its owner, hands each part's form a ticket holding
those figures, signed with the app's secret (itsdangerous) and short-lived. The price endpoint
then prices from the rules and the ticket, with no query for the session's user, the quote or
its parts. The ticket names its owner by a digest of the sign-in it was made for (the user id
and per-user token Flask-Login keeps in the session), so it opens nothing in another browser's
session, and it is only made for the owner of a quote still being configured. Without a ticket,
or with one that is expired, forged or someone else's, the endpoint works as before.

Nothing secret is in a ticket (the part's own geometry figures and the quote's subtotal, all on
the page it came from); notes that send the quote to an engineer are never put in one: such a
quote gets no tickets, and its parts are priced the full way.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from . import pricing

SALT = "part-price-ticket"
MAX_AGE_SECONDS = 2 * 60 * 60  # a quote page left open longer falls back to the full path


@dataclass(frozen=True)
class TicketPart:
    """What `part_quote.quote_part` reads of a part, as the ticket carries it."""

    id: int
    geometry: dict[str, Any] | None
    analysis_status: str | None
    review_reason: str | None
    extension: str | None


@dataclass(frozen=True)
class Ticket:
    """A verified ticket: the part, its quote's other parts' total, and whose it is."""

    ref: str
    user_id: int
    part: TicketPart
    others_subtotal: Decimal
    others_complete: bool
    language: str
    owner_digest: str

    def belongs_to(self, sign_in_id: str | None) -> bool:
        """Made for this sign-in (Flask-Login's session id: user id and per-user token)."""
        return bool(sign_in_id) and owner_digest(sign_in_id) == self.owner_digest


def owner_digest(sign_in_id: str) -> str:
    return hashlib.sha256(sign_in_id.encode("utf-8")).hexdigest()[:32]


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def can_mint(quote) -> bool:
    """A quote whose notes ask an engineer prices every part for review: no tickets for it."""
    return not pricing.notes_need_review(quote.notes)


def mint(quote, part, sign_in_id: str, language: str, secret_key: str) -> str:
    """A ticket for `part` of `quote`, for the owner signed in as `sign_in_id`."""
    others = [p for p in quote.parts if p.id != part.id]
    subtotal = sum((p.line_total or Decimal(0) for p in others), Decimal(0))
    payload = {
        "q": quote.ref,
        "u": quote.user_id,
        "o": owner_digest(sign_in_id),
        "l": language,
        "p": [part.id, part.geometry, part.analysis_status, part.review_reason, part.extension],
        "t": [str(subtotal), all(p.line_total is not None for p in others)],
    }
    return _serializer(secret_key).dumps(payload)


def read(token: str, secret_key: str, max_age: int = MAX_AGE_SECONDS) -> Ticket | None:
    """The ticket if it is ours, unaltered and fresh; None otherwise (never an exception)."""
    try:
        data = _serializer(secret_key).loads(token, max_age=max_age)
        part_id, geometry, status, reason, extension = data["p"]
        subtotal, complete = data["t"]
        return Ticket(
            ref=str(data["q"]),
            user_id=int(data["u"]),
            part=TicketPart(int(part_id), geometry, status, reason, extension),
            others_subtotal=Decimal(subtotal),
            others_complete=bool(complete),
            language=str(data["l"]),
            owner_digest=str(data["o"]),
        )
    except (BadSignature, KeyError, TypeError, ValueError, InvalidOperation):
        return None
