"""The order page's heading, pay section and lower sections, rendered once per order state and
language.

An order changes a few times in its life (paid, shipped, delivered, a fapiao), and its page is
mostly labels around those facts: fifty translated strings, the parts table, the addresses. The
sections are rendered with Flask's `render_template` the first time a key is asked for and kept
(LRU, per app and process), as the quote table is (quotes/table.py). The key is everything they
show: the order's row (its `updated_at` moves with every change of it), its newest step (the
history only grows, and a step can come without a change of the row), the language, the time
zone, the URL prefix, the tracking link, whether it is late, and the settings the pay section
shows (the bank account, whether WeChat Pay is offered). A changed order is a new key, never a
stale page. The pay section's form carries this session's CSRF token: it is kept with a mark in
the token's place, and the token is written in on every view. The reorder form is rendered on
every request in detail.html.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import NamedTuple

from flask import Flask, current_app, render_template, request
from flask_babel import get_timezone
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from ..i18n import current_language
from ..services.orders.records import bank_account
from ..services.payments.wechatpay_settings import is_configured

MEMO_SIZE = 256  # a few KB each
EXTENSION = "order_sections"
# Where the kept pay section's form has this session's CSRF token (letters only: autoescaping
# leaves it as it is, and no order, label or setting holds it).
CSRF_PLACE = "csrfTokenOfThisSessionGoesHere"


class Sections(NamedTuple):
    head: Markup
    pay: Markup  # empty unless the order awaits payment
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
    """The order's kept sections in the page's language, from the memo when made before."""
    state = (order.id, order.updated_at, order.status, order.amount_paid, order.last_event_id)
    bank = bank_account()
    shown = (tuple(bank.values()), is_configured(current_app.config))
    key = (state, current_language(), str(get_timezone()), request.script_root, shown)
    key += (tuple(sorted(values.items())),)
    memo = current_app.extensions[EXTENSION]
    found = memo.get(key)
    if found is None:
        context = {"order": order, **values}
        # our own autoescaped templates' output, kept as the HTML it already is
        found = Sections(
            Markup(render_template("orders/_detail_head.html", **context)),  # noqa: S704  # nosec B704
            Markup(  # noqa: S704  # nosec B704
                render_template(
                    "orders/_detail_pay.html", bank=bank, csrf_token=_csrf_place, **context
                )
            ),
            Markup(render_template("orders/_detail_body.html", **context)),  # noqa: S704  # nosec B704
        )
        memo.put(key, found)
    if not found.pay:
        return found
    # escape() of the token: Markup's replace() would escape a plain str anyway; this says so
    return found._replace(pay=found.pay.replace(CSRF_PLACE, escape(generate_csrf())))


def _csrf_place() -> str:
    """Stands in for `csrf_token()` while the pay section is rendered to be kept."""
    return CSRF_PLACE
