"""Blueprint: sign-in (password, SMS code, WeChat), registration, password reset and
re-authentication, one route module per workflow."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import (  # noqa: E402,F401
    closing_views,
    login_views,
    password_views,
    reauth_views,
    register_views,
    second_factor_views,
    sms_views,
    wechat_views,
)
