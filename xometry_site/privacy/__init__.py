"""Blueprint: routes in views.py."""

from flask import Blueprint

bp = Blueprint("privacy", __name__)

from . import views  # noqa: E402,F401
