"""Route of the quote PDF: owner and staff, in the page's language, rate-limited (rendering costs CPU)."""

from __future__ import annotations

from flask import Response, current_app, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import limiter
from ..i18n import current_language
from ..read_only import reads_only
from ..security import no_store
from ..services.quotes import quote_pdf
from . import bp
from .access import quote_or_404


def _pdf_limit() -> str:
    return current_app.config["QUOTE_PDF_LIMIT"]


@bp.get("/<ref>/quote.pdf")
@reads_only
@login_required
@limiter.limit(_pdf_limit, key_func=lambda: f"quote-pdf:{getattr(current_user, 'id', None)}")
@no_store
def pdf(ref: str):
    quote = quote_or_404(ref)
    try:
        document = quote_pdf.render_quote_pdf(quote, current_language())
    except quote_pdf.NotReady:
        flash(
            _("The PDF can be made once your drawings are analysed: please try again in a moment."),
            "warning",
        )
        return redirect(url_for("quotes.detail", ref=quote.ref), 303)
    response = Response(document, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{quote.ref}.pdf"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
