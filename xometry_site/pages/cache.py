"""Public pages as plain HTTP: the same bytes for every anonymous visitor, cacheable anywhere.

An anonymous visitor's home, policy and cookie pages depend only on the address, the language
and the cookie choice: no session is read for them or started by them, so the browser, nginx
(deploy/nginx) and each worker (http_cache.py) may keep them. They are sent with
`Cache-Control: public`, an ETag (304 when the browser already has the page) and `Vary` naming
what the page depends on. A signed-in visitor, or one with a message waiting in their session,
gets a page of their own, marked private.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import current_app, make_response, request, session
from flask_login import current_user

from ..extensions import limiter
from ..security import may_be_signed_in

VARY = ("Accept-Language", "Cookie")
PUBLIC_MARK = "public_page"


def _personal() -> bool:
    """The page may show something of this visitor's own: render it for them alone."""
    if request.method not in ("GET", "HEAD"):
        return True
    return may_be_signed_in() and (current_user.is_authenticated or "_flashes" in session)


@limiter.request_filter
def _public_page_request() -> bool:
    """Flask-Limiter counts nothing for a public page's GET: no limit is declared on these pages
    (nginx limits each address in front of them), and checking none cost a fifth of the page."""
    view = current_app.view_functions.get(request.endpoint or "")
    return request.method in ("GET", "HEAD") and getattr(view, PUBLIC_MARK, False)


def public_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve `view` (a GET view returning HTML) as a public page to anonymous visitors."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        response = make_response(view(*args, **kwargs))
        response.vary.update(VARY)
        if _personal():
            response.cache_control.private = True
            response.cache_control.no_cache = True
        elif response.status_code == 200:
            response.cache_control.public = True
            response.cache_control.max_age = current_app.config["PUBLIC_PAGE_SECONDS"]
            response.add_etag()
            response.make_conditional(request)
        return response

    setattr(wrapped, PUBLIC_MARK, True)
    return wrapped
