"""Who may request quotes (verified users) and who may see one (its owner and staff, else 404)."""

from __future__ import annotations

import functools

from flask import abort, render_template
from flask_login import current_user, login_required

from ..services.quotes import records

try:  # the auth feature's decorator, once it exists
    from ..auth.decorators import verified_required  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - until auth lands

    def verified_required(view):
        """Signed in and verified; an unverified account is told to verify first (403)."""

        @functools.wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.is_verified:
                return render_template("quotes/verify_first.html"), 403
            return view(*args, **kwargs)

        return wrapped


def quote_or_404(ref: str):
    """The quote if the signed-in user owns it or is staff; anyone else gets 404, never 403."""
    quote = records.quote_for(current_user, ref)
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


__all__ = ["drawing_or_404", "quote_or_404", "verified_required"]
