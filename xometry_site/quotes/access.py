"""Who may see a quote or its drawing: its owner and staff; anyone else gets 404."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from ..security import acts_as_staff
from ..services.quotes import records


def quote_or_404(ref: str):
    """The quote if the signed-in user owns it or is staff (second factor given); anyone else gets
    404, never 403."""
    quote = records.quote_for(current_user, ref, as_staff=acts_as_staff())
    if quote is None:
        abort(404)
    return quote


def drawing_or_404(ref: str, drawing_id: int):
    """A readable drawing of a quote the user may see; another quote's drawing id is 404."""
    quote = quote_or_404(ref)
    drawing = records.drawing_of(quote, drawing_id)
    if drawing is None:
        abort(404)
    return quote, drawing
