"""The request's CSRF token: Flask-WTF's `generate_csrf` without its zlib attempt.

itsdangerous's URL-safe serializer tries zlib on everything it signs, and setting up the
compressor takes longer than the rest of signing; a 40-character token never gets shorter, so the
attempt was pure cost: an eighth of serving a cached page to a first-time visitor, who gets a
token for the cookie banner. The token is the same as Flask-WTF's (secret, salt, format), so its
`validate_csrf` and its forms accept it, and it is kept in `g` under the same name for them.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from flask import current_app, g, session

from .session_interface import CompactSerializer

SALT = "wtf-csrf-token"  # Flask-WTF's

# What csrf_token() prints while HTML is rendered to be kept for other sessions (page cache,
# layout fragments); random per process, so no page text can contain it by accident or design.
PLACEHOLDER = "csrf-placeholder-" + secrets.token_hex(16)


def token_field(config: Mapping[str, Any] | None = None) -> str:
    """Where Flask-WTF keeps the token: the raw one in the session, the signed one in `g`."""
    return (config or current_app.config).get("WTF_CSRF_FIELD_NAME") or "csrf_token"


def generate_csrf() -> str:
    # Each name below is Flask's proxy looked up once (every lookup through a proxy is three
    # Python calls, and this runs on every page with a form).
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    request_globals = g._get_current_object()  # type: ignore[attr-defined]
    field = token_field(app.config)
    token = request_globals.get(field)
    if token is None:
        visitor = session._get_current_object()  # type: ignore[attr-defined]
        raw = visitor.get(field)
        if not isinstance(raw, str):
            raw = visitor[field] = secrets.token_hex(20)  # 40 hex digits, as Flask-WTF's
        secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
        if app.config.get("WTF_CSRF_TIME_LIMIT", 3600) is None:
            token = _signed(secret, raw)
        else:  # the signature's time is the token's age: sign afresh
            token = _serializer(secret).dumps(raw)
        setattr(request_globals, field, token)
    return token


@lru_cache(maxsize=4096)
def _signed(secret_key: str | bytes, raw: str) -> str:
    """A session's signed token, signed once: without a time limit its signature's time is never
    read, and signing (HMAC and base64 of a new time) was 3 % of each signed-in page. The same
    string on each page shows nothing the first did not (Flask-WTF's payload is constant too)."""
    return _serializer(secret_key).dumps(raw)


@lru_cache(maxsize=4)
def _serializer(secret_key: str | bytes) -> CompactSerializer:
    return CompactSerializer(secret_key, salt=SALT)


@contextmanager
def placeholder_token() -> Iterator[None]:
    """Inside, csrf_token() prints PLACEHOLDER; the request's own token is back afterwards."""
    field = token_field()
    request_globals = g._get_current_object()  # type: ignore[attr-defined]
    previous = request_globals.get(field)
    setattr(request_globals, field, PLACEHOLDER)
    try:
        yield
    finally:
        if previous is None:
            request_globals.pop(field, None)
        else:
            setattr(request_globals, field, previous)


_PLACEHOLDER_BYTES = PLACEHOLDER.encode()


def fill_token(html: str) -> str:
    """`html` kept with PLACEHOLDER, with this session's token put in (Markup stays Markup)."""
    return html.replace(PLACEHOLDER, generate_csrf()) if PLACEHOLDER in html else html


def token_pieces(html: str) -> tuple[bytes, ...]:
    """`html` kept with PLACEHOLDER, as UTF-8 pieces cut where the token goes (fill_pieces)."""
    return tuple(html.encode().split(_PLACEHOLDER_BYTES))


def fill_pieces(pieces: tuple[bytes, ...]) -> bytes:
    """The page from token_pieces with this session's token in every cut: one copy of the page,
    where finding the placeholder and replacing it went through it twice."""
    return pieces[0] if len(pieces) == 1 else generate_csrf().encode().join(pieces)
