"""Ordering the same parts again: a new quote with the same files and options, priced at today's
rules. Each file is re-encrypted under a fresh data key as it streams (plaintext only in memory),
so deleting either quote's drawings still shreds exactly that quote's copy."""

from __future__ import annotations

import logging

from ...extensions import db
from ...models import Drawing, Order, Quote, User
from .. import vault
from ..jobs import enqueue
from ..quotes.creation import analyse_quote
from ..quotes.drawing_files import blob_storage, key_ring, open_plaintext, stored_drawing
from ..quotes.records import QuoteError, record_event

log = logging.getLogger(__name__)
OPTION_FIELDS = ("process", "material", "finish", "quantity", "tolerance", "threads", "inspection")


def reorder(order: Order, user: User) -> Quote:
    """The new quote (committed, analysis started); QuoteError("no_files") if none is left."""
    source = db.session.get(Quote, order.quote_id) if order.quote_id else None
    if order.user_id != user.id or source is None:
        raise QuoteError("no_files")
    drawings = [d for d in source.live_drawings if d.is_readable]
    if not drawings:
        raise QuoteError("no_files")
    quote = Quote(
        user_id=user.id,
        process=source.process,
        material=source.material,
        finish=source.finish,
        quantity=source.quantity,
        notes=source.notes,
        status="analysing",
    )
    copies: dict[int, Drawing] = {}
    stored_blobs: list[str] = []
    try:
        for drawing in drawings:
            stored = vault.store_encrypted(blob_storage(), key_ring(), open_plaintext(drawing))
            stored_blobs.append(stored.blob_id)
            copy = stored_drawing(
                stored, user_id=user.id, filename=drawing.filename, extension=drawing.extension
            )
            for name in OPTION_FIELDS:
                setattr(copy, name, getattr(drawing, name))
            copies[drawing.id] = copy
            quote.drawings.append(copy)
        record_event(quote, "analysing")
        db.session.add(quote)
        db.session.flush()
        for drawing in drawings:
            if drawing.part_of_id in copies:
                copies[drawing.id].part_of_id = copies[drawing.part_of_id].id
        db.session.commit()
    except BaseException:
        db.session.rollback()
        for blob_id in stored_blobs:
            vault.destroy(blob_storage(), blob_id)
        raise
    log.info("order.reordered order=%s quote=%s", order.id, quote.id)
    enqueue(analyse_quote, quote.id, queue="analysis")
    return quote
