"""The request's CSRF token: Flask-WTF's `generate_csrf` without its zlib attempt.

itsdangerous's URL-safe serializer tries zlib on everything it signs, and setting up the
compressor takes longer than the rest of signing; a 40-character token never gets shorter, so the
attempt was pure cost: an eighth of serving a cached page to a first-time visitor, who gets a
token for the cookie banner. The token is the same as Flask-WTF's (secret, salt, format), so its
`validate_csrf` and its forms accept it, and it is kept in `g` under the same name for them.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import AnyStr

from flask import current_app, g, session

from .session_interface import CompactSerializer

SALT = "wtf-csrf-token"  # Flask-WTF's

# What csrf_token() prints while HTML is rendered to be kept for other sessions (page cache,
# layout fragments); random per process, so no page text can contain it by accident or design.
PLACEHOLDER = "csrf-placeholder-" + secrets.token_hex(16)


def token_field() -> str:
    """Where Flask-WTF keeps the token: the raw one in the session, the signed one in `g`."""
    return current_app.config.get("WTF_CSRF_FIELD_NAME") or "csrf_token"


def generate_csrf() -> str:
    config = current_app.config
    field = token_field()
    token = g.get(field)
    if token is None:
        if not isinstance(session.get(field), str):
            session[field] = secrets.token_hex(20)  # 40 hex digits, as Flask-WTF's SHA-1 of urandom
        secret = config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
        if config.get("WTF_CSRF_TIME_LIMIT", 3600) is None:
            token = _signed(secret, session[field])
        else:  # the signature's time is the token's age: sign afresh
            token = _serializer(secret).dumps(session[field])
        setattr(g, field, token)
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
    previous = g.get(field)
    setattr(g, field, PLACEHOLDER)
    try:
        yield
    finally:
        if previous is None:
            g.pop(field, None)
        else:
            setattr(g, field, previous)


_PLACEHOLDER_BYTES = PLACEHOLDER.encode()


def fill_token(html: AnyStr) -> AnyStr:
    """`html` kept with PLACEHOLDER, with this session's token put in: text (Markup stays Markup)
    or the page cache's UTF-8 bytes."""
    if isinstance(html, bytes):
        if _PLACEHOLDER_BYTES in html:
            return html.replace(_PLACEHOLDER_BYTES, generate_csrf().encode())
        return html
    return html.replace(PLACEHOLDER, generate_csrf()) if PLACEHOLDER in html else html
