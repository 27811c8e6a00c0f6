"""Blueprint: sign-in, registration, password reset and WeChat sign-in, one route module per workflow."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import login_views, password_views, register_views, wechat_views  # noqa: E402,F401
