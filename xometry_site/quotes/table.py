"""The customer's quote table, rendered once for each content and language.

Rendering a ten-row list was a third of the page (a macro, Babel and url_for in every row), and
a customer's list seldom changes between two visits. The memo is keyed by everything the table
shows: the rows' values, the process names, the language, the time zone and the URL prefix. A
changed quote is therefore a new key, never a stale table. One memo per app and process (LRU).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from flask import Flask, current_app, render_template, request
from flask_babel import get_timezone
from markupsafe import Markup

from ..i18n import current_language
from ..services.quotes.catalogue import catalogue_name
from ..services.quotes.records import ListedQuote

TEMPLATE = "quotes/_my_quotes.html"
MEMO_SIZE = 512
MEMO_ROWS = 50  # longer tables are rendered each time: the memo stays a few MB per worker
EXTENSION = "quote_table"


def register(app: Flask) -> None:
    app.extensions[EXTENSION] = lru_cache(maxsize=MEMO_SIZE)(_render)


def _render(rows: tuple[ListedQuote, ...], *_key: object) -> Markup:
    # our own autoescaped template's output, kept as the HTML it already is
    return Markup(render_template(TEMPLATE, quotes=rows))  # noqa: S704  # nosec B704


def quote_table(rows: Sequence[ListedQuote]) -> Markup:
    """The table of `rows` in the current language, from the memo when shown before."""
    if len(rows) > MEMO_ROWS:
        return _render(tuple(rows))
    names = tuple((p, catalogue_name("process", p)) for p in sorted({row.process for row in rows}))
    key = (current_language(), str(get_timezone()), request.script_root, names)
    return current_app.extensions[EXTENSION](tuple(rows), *key)
