"""The Data Protection Policy pages: the current edition, archived ones, a comparison of two."""

from __future__ import annotations

import re

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from markupsafe import Markup, escape

from ..extensions import db
from ..policies import Edition, editions, format_effective_date, get_edition, load_document
from ..policies import normalize_locale as content_locale
from ..policies.compare import compare_rows
from ..services.privacy import pi_registry
from . import bp
from .cache import public_page

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


@bp.app_template_filter("policy_linkify")
def policy_linkify(text: str) -> Markup:
    """Escape a policy text, then link its e-mail addresses (content never holds HTML)."""
    escaped = str(escape(text))
    # Safe: escaped first, and EMAIL only matches [A-Za-z0-9._%+-@], which cannot leave the href.
    return Markup(EMAIL.sub(lambda m: f'<a href="mailto:{m[0]}">{m[0]}</a>', escaped))  # noqa: S704  # nosec B704


def _page_locale() -> str:
    """The content language of the page being served."""
    return content_locale(get_locale())


def _edition_or_404(edition_id: str) -> Edition:
    edition = get_edition(current_app.config, edition_id)
    if edition is None:
        abort(404)
    return edition


def _render_policy(edition: Edition):
    locale = _page_locale()
    all_editions = editions(current_app.config)
    compare_with = edition.previous_id if edition.is_current else all_editions[0].id
    context = {
        "edition": edition,
        "doc": load_document(edition, locale),
        "editions": all_editions,
        "current": all_editions[0],
        "compare_with": compare_with,
        "date_text": lambda e: format_effective_date(e.effective_date, locale),
    }
    document = _document_html((edition, locale, tuple(all_editions)), context)
    return render_template("pages/policy.html", document=document, **context)


def _document_html(key: tuple, context: dict) -> Markup:
    """The policy article, rendered once per edition, language and editions list (it is the
    same for every visitor and most of the page's cost); the layout around it stays per request."""
    cache = current_app.extensions.setdefault("policy_documents", {})
    html = cache.get(key)
    if html is None:
        # our own autoescaped template output, stored as the markup it already is
        html = Markup(render_template("pages/_policy_document.html", **context))  # noqa: S704  # nosec B704
        cache[key] = html
    return html


@bp.get("/policy")
@public_page
def policy():
    """The policy in force."""
    return _render_policy(editions(current_app.config)[0])


@bp.get("/policy/<edition_id>")
@public_page
def policy_edition(edition_id: str):
    """Any published edition by its name; a date id of the past redirects to the name."""
    edition = _edition_or_404(edition_id)
    if edition_id != edition.id:
        return redirect(url_for("pages.policy_edition", edition_id=edition.id))
    return _render_policy(edition)


@bp.get("/policy/collection-list")
@public_page
def collection_list():
    """个人信息收集清单: every personal column the registry declares, by scenario."""
    groups = pi_registry.collection_list(db.metadata)
    return render_template("pages/collection_list.html", groups=groups)


@bp.get("/policy/compare")
@public_page
def policy_compare():
    """Two editions side by side, section by section (default: the previous and the current)."""
    all_editions = editions(current_app.config)
    default_a = all_editions[1] if len(all_editions) > 1 else all_editions[0]
    a = _edition_or_404(request.args.get("a") or default_a.id)
    b = _edition_or_404(request.args.get("b") or all_editions[0].id)
    locale = _page_locale()
    doc_a, doc_b = load_document(a, locale), load_document(b, locale)
    return render_template(
        "pages/policy_compare.html",
        a=a,
        b=b,
        doc_a=doc_a,
        doc_b=doc_b,
        rows=compare_rows(doc_a, doc_b),
        changes=doc_b["changes"] if b.previous_id == a.id else [],
        editions=all_editions,
        date_text=lambda e: format_effective_date(e.effective_date, locale),
    )
