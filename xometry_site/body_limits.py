"""How large a request body may be: MAX_CONTENT_LENGTH where drawings are uploaded, and
MAX_FORM_MEMORY_SIZE for every other request.

Werkzeug reads an `application/x-www-form-urlencoded` body (and JSON, and any body a view asks
for whole) into memory in one piece, limited only by the request's `max_content_length`. Left at
MAX_CONTENT_LENGTH (2 GB, sized for twenty drawings) that let an anonymous POST to `/login` grow
a worker by hundreds of MB. So each request gets Flask's per-request limit (Flask ≥ 3.1):
the upload endpoints below keep MAX_CONTENT_LENGTH, every other one is lowered to
MAX_FORM_MEMORY_SIZE. A declared Content-Length over the limit is answered 413 (the error page
in errors.py) when the body is first opened, before a byte of it is read; a chunked body without
Content-Length is cut off by Werkzeug's limited stream at the same limit.

The limit is set from a URL value preprocessor, because Flask runs those right after routing and
before every `before_request` hook, whatever the order hooks were registered in: CSRFProtect's
hook reads the form of every POST, and must already see the lower limit.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request

# Endpoints whose body is a stream of drawings (read piece by piece into encrypted storage,
# never whole): the website's upload and the Mini Program's (one drawing per request).
UPLOAD_ENDPOINTS = frozenset({"quotes.new", "mp_quotes.quote_upload"})


def init_app(app: Flask) -> None:
    """Set each request's body limit before any hook or view can read the body."""
    app.url_value_preprocessor(limit_body)


def limit_body(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    """Lower this request's `max_content_length` unless `endpoint` takes uploads."""
    if endpoint in UPLOAD_ENDPOINTS:
        return
    cap = current_app.config.get("MAX_FORM_MEMORY_SIZE")
    if cap is None:
        return
    current = request.max_content_length
    if current is None or current > cap:
        request.max_content_length = cap
