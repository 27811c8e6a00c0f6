"""Helpers every template can use: language switch links, <html lang>, cookie banner state."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import dates
from flask import Flask, request, url_for
from flask_babel import get_locale, get_timezone, get_translations
from jinja2 import pass_eval_context
from markupsafe import Markup

from .csrf_token import generate_csrf
from .i18n import current_language, html_lang
from .services import cookies

LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}


def lang_url(lang: str) -> str:
    """The current page in another language."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [lang]
    endpoint = request.endpoint or "pages.home"
    try:
        return url_for(endpoint, **(request.view_args or {}), **args)
    except Exception:
        return url_for("pages.home", lang=lang)


def page_gettext(translations=None):
    """Templates' `_` bound to this render's catalogue, with the i18n extension's newstyle
    semantics (escape-safe in HTML, `%(name)s` filled in, plain in .txt): the extension's `_`
    looks the domain, locale and catalogue up again for each of a page's ~25 strings, which was
    a fifth of the home page's time. Resolved per render, so force_locale and refresh() still
    apply; macros imported without context keep using the extension's `_`."""
    lookup = (translations or get_translations()).ugettext

    @pass_eval_context
    def gettext(eval_ctx, string: str, /, **variables) -> str:
        text = lookup(string)
        if eval_ctx.autoescape:
            # the catalogue is ours and trusted, as in Jinja's own newstyle gettext
            text = Markup(text)  # noqa: S704  # nosec B704
        return text % variables

    return gettext


def page_ngettext(translations):
    """Templates' `ngettext`, bound like `_` above (newstyle: `num` is filled in too)."""
    lookup = translations.ungettext

    @pass_eval_context
    def ngettext(eval_ctx, singular: str, plural: str, num: int, /, **variables) -> str:
        variables.setdefault("num", num)
        text = lookup(singular, plural, num)
        if eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704  # nosec B704 - our catalogue, as in Jinja's own
        return text % variables

    return ngettext


def dateformat(value: date | datetime | None = None, format: str | None = None) -> str:
    """Flask-Babel's `dateformat` filter (a datetime is first moved to the visitor's time zone),
    remembered per day: Babel works a pattern out afresh on every call, which was a sixth of a
    ten-row quote list."""
    if value is None:
        value = datetime.now(UTC)
    if isinstance(value, datetime):
        if value.tzinfo is None:  # as Flask-Babel: a naive time is UTC
            value = value.replace(tzinfo=UTC)
        # zoneinfo, not Flask-Babel's pytz, whose normalize() cost as much as Babel's formatting
        value = value.astimezone(ZoneInfo(str(get_timezone()))).date()  # ZoneInfo caches zones
    return _format_day(value, format or "medium", str(get_locale()))


@lru_cache(maxsize=4096)
def _format_day(day: date, format: str, locale: str) -> str:
    return dates.format_date(day, format, locale=locale)


def register_template_helpers(app: Flask) -> None:
    app.add_template_filter(dateformat)
    # Flask-WTF's csrf_token(), made without its zlib attempt (csrf_token.py); Flask-WTF puts its
    # own both in the globals and in every context, so both are replaced.
    app.jinja_env.globals["csrf_token"] = generate_csrf

    @app.context_processor
    def inject():
        locale = current_language()
        translations = get_translations()
        return {
            "current_locale": locale,
            "html_lang": html_lang(locale),
            "language_names": LANGUAGE_NAMES,
            "lang_url": lang_url,
            "cookie_choice": cookies.current_choice(),
            "site_name": app.config["SITE_NAME"],
            "_": page_gettext(translations),
            "ngettext": page_ngettext(translations),
            "csrf_token": generate_csrf,
        }
