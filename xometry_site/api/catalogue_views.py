"""What a part can be made with, for the Mini Program's pickers: the pricing rules' catalogue
(services/quotes/catalogue.py), every name in the caller's language next to its code."""

from __future__ import annotations

from flask_babel import gettext as _

from ..quotes.forms import MAX_THREADS
from ..quotes.labels import LEAD_CHOICE
from ..read_only import reads_only
from ..security import no_store
from ..services.quotes import catalogue
from .blueprints import quotes_bp as bp
from .order_schemas import CatalogueSchema


@bp.route("/catalogue", methods=["GET"])
@bp.signed_in
@reads_only
@no_store
@bp.response(200, CatalogueSchema)
def catalogue_list():
    """Processes with their materials and finishes, tolerances, tapped holes, inspections and
    lead times, as the website's part form offers them."""
    listing = catalogue.listing()
    return {
        **listing,
        "threads": {"name": _("Tapped holes"), "min": 0, "max": MAX_THREADS, **listing["threads"]},
        "lead_times": [{"code": code, "name": str(name)} for code, name in LEAD_CHOICE.items()],
    }
