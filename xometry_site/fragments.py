"""Layout parts rendered once per key instead of on every page: `{% call fragment(name, *key) %}`.

The header's navigation, the footer and the cookie notice are the same for every signed-in page
of one language (a dozen url_for and gettext calls, a quarter of a signed-in quote list's cost),
yet no page cache can hold a signed-in page. The block's body is rendered only when its key is
new; the key must name everything the body shows (tests/unit/test_fragments.py reads the
templates and fails when a body uses something its key leaves out). CSRF tokens are kept as a
placeholder and each session's own is put in on the way out. One memo per app and process.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from flask import Flask, current_app
from markupsafe import Markup

from .csrf_token import fill_token, placeholder_token

EXTENSION = "layout_fragments"
MEMO_SIZE = 256  # keys are language × URL prefix × kind of visitor: a few dozen in practice


def register(app: Flask) -> None:
    app.extensions[EXTENSION] = {}
    app.jinja_env.globals["fragment"] = fragment


def fragment(name: str, *key: Hashable, caller: Callable[[], str]) -> Markup:
    """The block's HTML for `key`, rendered the first time the key is seen."""
    memo: dict = current_app.extensions[EXTENSION]
    entry = (name, *key)
    html = memo.get(entry)
    if html is None:
        with placeholder_token():
            html = Markup(caller())  # noqa: S704  # nosec B704 - our autoescaped template's output
        if len(memo) >= MEMO_SIZE:
            memo.clear()  # a bound, not a policy: real traffic never gets near it
        memo[entry] = html
    return Markup(fill_token(html))  # noqa: S704  # nosec B704 - the same, with a token put in
