"""The quote as a PDF (WeasyPrint from a Jinja template) in the customer's language.

Everything the document shows comes from `quote_document` (so its totals are the page's);
thumbnails are the parts' encrypted preview PNGs, decrypted in memory and embedded as data: URIs.
Nothing is written to disk and nothing is fetched: the URL fetcher accepts data: URIs only.
Fonts come from fontconfig: Debian's `fonts-noto-cjk` for Chinese (and Latin).
"""

from __future__ import annotations

import base64
import logging
from datetime import datetime
from typing import Any

from flask import current_app

from ...models import Drawing, Quote
from ...models.base import utcnow
from ..languages import in_language
from . import drawing_files, quote_document

log = logging.getLogger(__name__)

TEMPLATE = "quotes/quote_pdf.html"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class NotReady(Exception):
    """The drawings are still being analysed: there is nothing to put in a document yet."""


def company(config: Any) -> dict[str, str | None]:
    """Who issues the quote: the document's header, from the settings."""
    return {
        "name": config.get("COMPANY_NAME") or config.get("SITE_NAME"),
        "address": config.get("COMPANY_ADDRESS"),
        "phone": config.get("COMPANY_PHONE"),
        "email": config.get("COMPANY_EMAIL") or config.get("CONTACT_EMAIL"),
        "website": config.get("COMPANY_WEBSITE"),
    }


def thumbnail(part: Drawing) -> str | None:
    """The part's preview as a data: URI, decrypted in memory; None when there is none."""
    if not part.has_preview:
        return None
    try:
        png = drawing_files.preview_bytes(part)
    except drawing_files.READ_ERRORS as exc:
        log.warning("quote_pdf.preview_unreadable drawing=%s error=%s", part.id, type(exc).__name__)
        return None
    if not png.startswith(PNG_SIGNATURE):
        return None
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def data_only(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """WeasyPrint's fetcher for data: URIs only: the document never reaches the network or disk."""
    from weasyprint.urls import URLFetchingError, default_url_fetcher

    if not url.startswith("data:"):
        raise URLFetchingError("only data: URIs are embedded")
    return default_url_fetcher(url, *args, **kwargs)


def document_html(quote: Quote, lang: str, now: datetime | None = None) -> str:
    """The HTML the PDF is made from, in `lang`."""
    if quote.status == "analysing":
        raise NotReady
    moment = now or utcnow()
    with in_language(lang):
        document = quote_document.build(quote, thumbnail=thumbnail, now=moment)
        template = current_app.jinja_env.get_template(TEMPLATE)
        return template.render(
            doc=document,
            quote=quote,
            company=company(current_app.config),
            lang=lang,
            issued_at=moment,
        )


def render_quote_pdf(quote: Quote, lang: str, now: datetime | None = None) -> bytes:
    """The quote as PDF bytes, in `lang` ("zh_CN" or "en")."""
    from weasyprint import HTML  # loads Pango: only where a PDF is made, not to start the site

    html = document_html(quote, lang, now)
    return HTML(string=html, url_fetcher=data_only).write_pdf()
