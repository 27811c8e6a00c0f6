"""Signed, expiring tokens for links in mail, one salt per purpose so no token serves two ends.

Single use is the caller's part: put the state the link changes (verified flag, a fingerprint of
the password hash…) into the payload and compare it on use, so a used link no longer matches.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SALT_PREFIX = "xometry-token-"


class TokenError(Exception):
    """The token cannot be used: forged, damaged, made for another purpose or too old."""


class TokenExpired(TokenError):
    """Genuine, but older than allowed."""


class TokenInvalid(TokenError):
    """Forged, damaged or made for another purpose."""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT_PREFIX + purpose)


def make_token(purpose: str, payload: Any) -> str:
    """A URL-safe signed token carrying `payload` (JSON-able), valid only for `purpose`."""
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str, max_age: int) -> Any:
    """The payload of a genuine token younger than `max_age` seconds; else TokenExpired/Invalid."""
    try:
        return _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise TokenExpired(purpose) from error
    except BadSignature as error:
        raise TokenInvalid(purpose) from error


def fingerprint(value: str | None) -> str:
    """A short digest of some state (e.g. a password hash) to bind a token to, without revealing it."""
    return hashlib.sha256((value or "").encode("utf-8")).hexdigest()[:16]
