"""Staff dashboard: one page linking to each staff tool (quotes here; data requests etc. in
their own modules)."""

from flask import render_template

from ..security import no_store, staff_required
from . import bp


@bp.get("/")
@staff_required
@no_store
def index():
    from ..services.quotes.review import review_queue_counts

    return render_template("admin/index.html", quote_counts=review_queue_counts())
