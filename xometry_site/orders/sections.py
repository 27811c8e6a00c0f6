"""The order page's heading and its lower sections, rendered once per order state and language.

An order changes a few times in its life (paid, shipped, delivered, a fapiao), and its page is
mostly labels around those facts: fifty translated strings, the parts table, the addresses. The
two sections that hold no form are rendered with Flask's `render_template` the first time a key
is asked for and kept (LRU, per app and process), as the quote table is (quotes/table.py). The
key is everything they show: the order's row (its `updated_at` moves with every change of it),
its newest step (the history only grows, and a step can come without a change of the row), the
language, the time zone, the URL prefix, the tracking link and whether it is late. A changed
order is a new key, never a stale page. The pay section and the reorder form, which carry this
session's CSRF token, are rendered on every request in detail.html.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import NamedTuple

from flask import Flask, current_app, render_template, request
from flask_babel import get_timezone
from markupsafe import Markup

from ..i18n import current_language

MEMO_SIZE = 256  # a few KB each
EXTENSION = "order_sections"


class Sections(NamedTuple):
    head: Markup
    body: Markup


class _Memo:
    """Least recently used first out, shared by a worker's threads; holds only HTML."""

    def __init__(self, size: int) -> None:
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key: tuple) -> Sections | None:
        with self.lock:
            found = self.items.get(key)
            if found is not None:
                self.items.move_to_end(key)
            return found

    def put(self, key: tuple, sections: Sections) -> None:
        with self.lock:
            self.items[key] = sections
            while len(self.items) > self.size:
                self.items.popitem(last=False)


def register(app: Flask) -> None:
    app.extensions[EXTENSION] = _Memo(MEMO_SIZE)
    app.add_template_global(order_sections)


def order_sections(order, **values: object) -> Sections:
    """The order's two kept sections in the page's language, from the memo when made before."""
    state = (order.id, order.updated_at, order.status, order.amount_paid, order.last_event_id)
    key = (state, current_language(), str(get_timezone()), request.script_root)
    key += (tuple(sorted(values.items())),)
    memo = current_app.extensions[EXTENSION]
    found = memo.get(key)
    if found is None:
        context = {"order": order, **values}
        # our own autoescaped templates' output, kept as the HTML it already is
        found = Sections(
            Markup(render_template("orders/_detail_head.html", **context)),  # noqa: S704  # nosec B704
            Markup(render_template("orders/_detail_body.html", **context)),  # noqa: S704  # nosec B704
        )
        memo.put(key, found)
    return found
