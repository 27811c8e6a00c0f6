"""Blueprint: sign-in, registration, password reset and WeChat sign-in, one route module per workflow."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import (  # noqa: E402,F401
    login_views,
    password_views,
    register_views,
    second_factor_views,
    wechat_views,
)
