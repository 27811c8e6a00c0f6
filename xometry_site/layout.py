"""Pieces of the base layout that are the same on every page in one language, rendered once.

The navigation, the footer and the cookie banner's text were a third of a signed-in page's
template work: two dozen translated strings and a dozen `url_for` calls, on every page, for the
same few variants. Each piece is a small template under `templates/_layout/`, rendered with
Flask's `render_template` the first time a (piece, language, URL prefix, values) combination is
asked for and then kept (LRU, per app and process), as the quote table is (quotes/table.py).

A piece sees only the values passed to it (and the app's template globals): never the request,
the session or `current_user`, and never a CSRF token, so what is kept is the same for everyone
who asks with the same key. Whatever differs per person is a value of the key (how many messages
are unread, staff or not), or stays in base.html (the sign-out form and its token, the language
links of the current URL, the banner's return path).
"""

from __future__ import annotations

from functools import lru_cache

from flask import Flask, current_app, render_template, request
from markupsafe import Markup

from .i18n import current_language

MEMO_SIZE = 256  # pieces × languages × values (unread counts): a few hundred entries of ~1 KB
EXTENSION = "layout_fragments"


def register(app: Flask) -> None:
    """One memo per app; `fragment(name, **values)` in every template."""
    app.extensions[EXTENSION] = lru_cache(maxsize=MEMO_SIZE)(_render)
    app.add_template_global(fragment)


def _render(name: str, _language: str, _prefix: str, values: tuple) -> Markup:
    # our own autoescaped template's output, kept as the HTML it already is
    return Markup(render_template(f"_layout/{name}.html", **dict(values)))  # noqa: S704  # nosec B704


def fragment(name: str, **values: object) -> Markup:
    """The piece `name` with `values`, in the page's language, from the memo when made before."""
    key = (current_language(), request.script_root, tuple(sorted(values.items())))
    return current_app.extensions[EXTENSION](name, *key)
