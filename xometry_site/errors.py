"""Error pages in the visitor's language; nothing internal is ever shown."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

MESSAGES = {
    400: (
        _l("Bad request"),
        _l("Something in your request was not right. Please go back and try again."),
    ),
    403: (_l("Forbidden"), _l("You do not have permission to open this page.")),
    404: (
        _l("Page not found"),
        _l("The page you asked for does not exist or is no longer available."),
    ),
    405: (_l("Not allowed"), _l("This page cannot be used that way.")),
    413: (
        _l("File too large"),
        _l(
            "What you sent is larger than we accept. Nothing was stored. Please send smaller files."
        ),
    ),
    429: (
        _l("Too many attempts"),
        _l("You have tried this too often. Please wait a few minutes and try again."),
    ),
    500: (
        _l("Something went wrong"),
        _l("An error occurred on our side. It has been logged; please try again later."),
    ),
}
CSRF_MESSAGE = _l(
    "Your form expired or was sent from another site. Please reload the page and try again."
)


def render_error(code: int, message=None):
    title, default = MESSAGES.get(code, MESSAGES[500])
    if request.path == "/healthz" or request.accept_mimetypes.best == "application/json":
        return jsonify(error=str(title)), code
    return render_template(
        "errors/error.html", code=code, title=title, message=message or default
    ), code


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        log.warning("security.csrf_rejected path=%s", request.path)
        return render_error(400, CSRF_MESSAGE)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = error.code or 500
        if code == 429:
            log.warning("security.rate_limited path=%s", request.path)
        return render_error(code if code in MESSAGES else (400 if code < 500 else 500))

    @app.errorhandler(Exception)
    def unhandled(error: Exception):
        log.exception("error.unhandled path=%s", request.path)
        return render_error(500)
