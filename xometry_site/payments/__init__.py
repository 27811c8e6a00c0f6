"""Blueprint: what payment providers call back (WeChat Pay's notifications)."""

from flask import Blueprint

bp = Blueprint("payments", __name__)

from . import views  # noqa: E402,F401
