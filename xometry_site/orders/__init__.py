"""Blueprint: the customer's orders — list, one order (timeline, payment, tracking), reorder."""

from flask import Blueprint

bp = Blueprint("orders", __name__)


@bp.record_once
def _setup(state) -> None:
    from .sections import register

    register(state.app)


from . import pay_views, views  # noqa: E402,F401
