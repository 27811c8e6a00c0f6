"""Blueprint: "Request a quote" — routes in views.py, the streamed upload in upload_view.py; plus
the read-only shared quote at /shared/quotes/<token> (its own small blueprint, registered with it)."""

from flask import Blueprint

bp = Blueprint("quotes", __name__)
shared_bp = Blueprint("shared", __name__)


@bp.record_once
def _setup(state) -> None:
    from .table import register

    register(state.app)
    # a shared link must work without signing in and outside /quotes: mount it at /shared
    state.app.register_blueprint(shared_bp, url_prefix="/shared")


from . import part_views, pdf_view, question_views, share_views, views  # noqa: E402,F401
