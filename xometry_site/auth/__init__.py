"""Blueprint: routes in views.py."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import views, wechat_views  # noqa: E402,F401
