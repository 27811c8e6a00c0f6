"""Public pages: home, health, cookie notice, the Data Protection Policy."""

from flask import Blueprint

bp = Blueprint("pages", __name__)

from . import policy_views, sharing_views, views  # noqa: E402,F401
