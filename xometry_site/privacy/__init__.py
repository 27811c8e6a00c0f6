"""Blueprint: the privacy center at /privacy — My data, copy, delete, withdraw, deregister, requests."""

from flask import Blueprint

bp = Blueprint("privacy", __name__)

from . import (  # noqa: E402,F401
    request_views,
    rights_views,
    sharing_views,
    transfer_views,
    views,
)
