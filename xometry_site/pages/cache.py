"""Public pages served from memory to visitors who are not signed in (Flask-Caching).

What an anonymous visitor gets from the home or policy page depends only on the address, the
language and the cookie choice, except for the cookie banner's CSRF token, which belongs to the
visitor's session: the page is cached with a placeholder there and each visitor's own token is
put in on the way out. Never cached: signed-in visitors, pages carrying flashed messages, and
anything but GET. Rendering was most of these pages' cost (see benchmarks/load.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import request, session
from flask_caching.backends import SimpleCache
from flask_login import current_user

from ..csrf_token import fill_pieces, placeholder_token, token_pieces
from ..extensions import cache
from ..i18n import current_language
from ..services import cookies


class _AsIs:
    def dumps(self, value: Any) -> Any:
        return value

    def loads(self, value: Any) -> Any:
        return value


class PageMemory(SimpleCache):
    """Flask-Caching's in-process cache (CACHE_TYPE), keeping the pages as they are: it pickled
    each value on the way in and unpickled it on every hit, so that a caller could not change
    what another one gets; a page is a tuple of bytes, which nobody can change, and unpickling
    copied the 31 KB policy once more per visit."""

    serializer = _AsIs()


def _personal() -> bool:
    """The page may show something of this visitor's own: render it for them alone."""
    return (
        request.method not in ("GET", "HEAD")
        or "_flashes" in session
        or current_user.is_authenticated
    )


def _key(*_args: Any, **_kwargs: Any) -> str:
    choice = cookies.current_choice()
    chosen = "-" if choice is None else ".".join(sorted(choice))
    page = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup
    return "|".join(("page", page.host, page.full_path, current_language(), chosen))


def _cacheable(rendered: Any) -> bool:
    """A rendered page, cut where the token goes (never a redirect or an error, which could be
    changed after leaving here: PageMemory keeps values as they are)."""
    return isinstance(rendered, tuple) and all(isinstance(piece, bytes) for piece in rendered)


def _in_pieces(view: Callable[..., Any]) -> Callable[..., Any]:
    """The page as UTF-8 bytes cut where each visitor's CSRF token goes: bytes, as the response
    sends them (encoding the 31 KB Chinese policy on every visit cost more than taking it from
    the cache), and cut so that each visitor's token is joined in with one copy of the page."""

    @functools.wraps(view)
    def in_pieces(*args: Any, **kwargs: Any) -> Any:
        page = view(*args, **kwargs)
        return token_pieces(page) if isinstance(page, str) else page

    return in_pieces


def anonymous_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve `view` from the cache to anonymous visitors (views that return rendered HTML)."""
    cached = cache.cached(make_cache_key=_key, response_filter=_cacheable)(_in_pieces(view))

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if _personal():
            return view(*args, **kwargs)
        with placeholder_token():
            page = cached(*args, **kwargs)
        return fill_pieces(page) if isinstance(page, tuple) else page

    # These pages have no rate limit of their own: Flask-Limiter skips them (extensions.py).
    wrapped.rate_limit_free = True  # type: ignore[attr-defined]
    return wrapped
