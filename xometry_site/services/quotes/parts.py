"""Changing a quote's parts: saving a part's options, moving a 2D drawing to another part; each
change reprices the whole quote (instant parts at once, the rest to an engineer)."""

from __future__ import annotations

import logging

from ...extensions import db
from ...models import Drawing, Quote, User
from .catalogue import combination_error
from .part_quote import PartOptions
from .quote_pricing import price_quote
from .records import QuoteError

log = logging.getLogger(__name__)


NOTES_MAX = 2000  # as the upload form's notes


def save_options(
    quote: Quote,
    part: Drawing,
    options: PartOptions,
    actor: User,
    notes: str | None = None,
) -> None:
    """Store what the customer chose for `part` (and, given, the quote's notes for the engineer,
    which pricing reads) and reprice the quote (committed)."""
    _check_changeable(quote, actor)
    if part.part_of_id is not None or part.quote_id != quote.id:
        raise QuoteError("not_a_part")
    if combination_error(options.process, options.material, options.finish):
        raise QuoteError("bad_combination")
    if notes is not None:
        if len(notes) > NOTES_MAX:
            raise QuoteError("message_too_long")
        quote.notes = notes.strip() or None
    part.process, part.material, part.finish = options.process, options.material, options.finish
    part.quantity, part.tolerance = options.quantity, options.tolerance
    part.threads, part.inspection = options.threads, options.inspection
    _reprice(quote)
    log.info("quote.part_saved quote=%s part=%s", quote.id, part.id)


def attach(quote: Quote, drawing: Drawing, part_id: int | None, actor: User) -> None:
    """Attach a 2D drawing to a part of the same quote, or (None) make it a part of its own."""
    _check_changeable(quote, actor)
    if not drawing.is_flat:
        raise QuoteError("not_a_drawing")
    if part_id is not None:
        target = next((p for p in quote.parts if p.id == part_id and p.id != drawing.id), None)
        if target is None or target.is_flat or quote.attachments_of(drawing):
            raise QuoteError("not_a_part")
        drawing.part_of_id = target.id
        drawing.process = drawing.material = drawing.finish = None
        drawing.quantity = drawing.threads = drawing.tolerance = drawing.inspection = None
    else:
        drawing.part_of_id = None
        drawing.process, drawing.material = quote.process, quote.material
        drawing.finish, drawing.quantity = quote.finish, quote.quantity
        drawing.tolerance, drawing.threads, drawing.inspection = "iso2768m", 0, "standard"
        drawing.review_reason = "format_needs_review"
    _reprice(quote)


def _check_changeable(quote: Quote, actor: User) -> None:
    if quote.user_id != actor.id:
        raise QuoteError("not_owner")
    if not quote.is_configurable:
        raise QuoteError("not_changeable")


def _reprice(quote: Quote) -> None:
    """An expired price is renewed at today's rules, like any change."""
    db.session.flush()
    price_quote(quote)
