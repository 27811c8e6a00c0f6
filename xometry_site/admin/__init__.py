"""Blueprint: routes in views.py."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import alerts_views, privacy_views, quotes_views, views  # noqa: E402,F401
