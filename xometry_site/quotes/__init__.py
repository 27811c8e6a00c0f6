"""Blueprint: "Request a quote" — routes in views.py, the streamed upload in upload_view.py."""

from flask import Blueprint

bp = Blueprint("quotes", __name__)


@bp.record_once
def _setup(state) -> None:
    from .table import register

    register(state.app)


from . import part_views, question_views, views  # noqa: E402,F401
