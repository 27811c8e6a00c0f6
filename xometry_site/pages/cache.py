"""Public pages as plain HTTP: the same bytes for every anonymous visitor, cacheable anywhere.

An anonymous visitor's home, policy and cookie pages depend only on the address, the language
and the cookie choice: no session is read for them or started by them, so the browser, nginx
(deploy/nginx) and each worker's memory may keep them. They are sent with `Cache-Control:
public`, an ETag (304 when the browser already has the page) and `Vary` naming what the page
depends on. A signed-in visitor, or one with a message waiting in their session, gets a page of
their own, marked private.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, make_response, request, session
from flask_login import current_user

from ..extensions import cache
from ..i18n import current_language
from ..services import cookies

VARY = ("Accept-Language", "Cookie")


def _personal() -> bool:
    """The page may show something of this visitor's own: render it for them alone."""
    return (
        request.method not in ("GET", "HEAD")
        or current_user.is_authenticated
        or "_flashes" in session
    )


def _key() -> str:
    choice = cookies.current_choice()
    chosen = "-" if choice is None else ".".join(sorted(choice))
    return "|".join(("page", request.host, request.full_path, current_language(), chosen))


def _page(view: Callable[..., Any], args: tuple, kwargs: dict) -> tuple[bytes, str] | Response:
    """The page's bytes and ETag, from memory or rendered now; anything but a plain page (a
    redirect, an error, a response setting a cookie) is answered as it is and never kept."""
    key = _key()
    kept = cache.get(key)
    if kept is None:
        response = make_response(view(*args, **kwargs))
        if response.status_code != 200 or response.headers.getlist("Set-Cookie"):
            return response
        body = response.get_data()
        kept = (body, hashlib.sha256(body).hexdigest()[:32])
        cache.set(key, kept)
    return kept


def public_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve `view` (a GET view returning HTML) as a public page to anonymous visitors."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if _personal():
            response = make_response(view(*args, **kwargs))
            response.cache_control.private = True
            response.cache_control.no_cache = True
            response.vary.update(VARY)
            return response
        page = _page(view, args, kwargs)
        if isinstance(page, Response):
            return page
        body, etag = page
        response = current_app.response_class(body, mimetype="text/html")
        response.set_etag(etag)
        response.cache_control.public = True
        response.cache_control.max_age = current_app.config["CACHE_DEFAULT_TIMEOUT"]
        response.vary.update(VARY)
        return response.make_conditional(request)

    return wrapped
