"""Bearer-token access to the API: `Authorization: Bearer <access token>`, never a cookie.

`signed_in` lets in a device whose sign-in has its account; `registering` also one that is still
registering (only the registration steps use it). Views take them through the blueprint
(`@bp.signed_in`, api/blueprints.py), which also documents the requirement. The account is loaded with the token's row in
the one query, its language set for the answer, and its id noted for the access log.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import current_app, g, request
from flask_babel import refresh

from ..i18n import API_LANGUAGE_KEY
from ..log_setup import SIGNED_IN_USER_KEY
from ..models import ApiSession, User
from ..services.accounts import api_tokens
from .errors import ApiError

SESSION_KEY = "api_session"
BEARER = [{"bearer": []}]  # the OpenAPI security requirement of every signed-in operation


def _challenge(error: str) -> dict[str, str]:
    return {"WWW-Authenticate": f'Bearer realm="api", error="{error}"'}


def _authenticate() -> ApiSession:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", headers={"WWW-Authenticate": 'Bearer realm="api"'})
    try:
        row = api_tokens.authenticate(token.strip())
    except api_tokens.TokenRefused as refused:
        code = "token_expired" if refused.reason == "expired" else "unauthorized"
        raise ApiError(401, code, headers=_challenge("invalid_token")) from None
    setattr(g, SESSION_KEY, row)
    if row.user is not None:
        g.setdefault(SIGNED_IN_USER_KEY, row.user.id)
        if row.user.preferred_language:
            g.setdefault(API_LANGUAGE_KEY, row.user.preferred_language)
            refresh()  # a message translated before the check used Accept-Language alone
    return row


def current_session() -> ApiSession:
    """The sign-in of this request (after `signed_in` or `registering`)."""
    return g.get(SESSION_KEY)


def current_account() -> User:
    """The account of this request (after `signed_in`)."""
    row = current_session()
    assert row is not None and row.user is not None  # noqa: S101 - `signed_in` guarantees it
    return row.user


def signed_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """A view for a device signed in to an account; documented as needing the bearer token."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        row = _authenticate()
        if row.user_id is None:
            raise ApiError(403, "registration_required")
        return view(*args, **kwargs)

    return wrapped


def registering(view: Callable[..., Any]) -> Callable[..., Any]:
    """A view for a device that is still registering (or already has its account)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        _authenticate()
        return view(*args, **kwargs)

    return wrapped


def user_key() -> str:
    """Rate-limit key of a signed-in device: its account (the limiter runs after the check)."""
    row = g.get(SESSION_KEY)
    if row is not None and row.user_id is not None:
        return f"api-user:{row.user_id}"
    from flask_limiter.util import get_remote_address

    return "ip:" + (get_remote_address() or "-")


def configured(name: str) -> Callable[[], str]:
    """A limit read from the configuration when the request comes (the website's defaults for
    the limits the API shares with its forms)."""
    from ..auth.limits import DEFAULTS

    return lambda: current_app.config.get(name) or DEFAULTS[name]
