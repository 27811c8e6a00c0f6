"""Signed links in the account's mail: the site's one token service, answering None on failure."""

from __future__ import annotations

from typing import Any

from ..tokens import TokenError, make_token, read_token


def make(purpose: str, payload: Any) -> str:
    """A URL-safe signed token carrying `payload`, valid only for `purpose`."""
    return make_token(purpose, payload)


def read(purpose: str, token: str, max_age: int | None) -> Any | None:
    """The payload, or None when the token is forged, for another purpose or too old."""
    try:
        return read_token(purpose, token, max_age)  # type: ignore[arg-type] - None: no expiry
    except TokenError:
        return None
