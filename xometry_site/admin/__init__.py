"""Blueprint: the staff pages under /admin — dashboard (views.py), quotes to review, data requests,
notices and the register of recipients (sharing_views.py)."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import (  # noqa: E402,F401
    alerts_views,
    orders_views,
    privacy_views,
    quotes_views,
    sharing_views,
    staff_security_views,
    views,
)
