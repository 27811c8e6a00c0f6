"""Which language a page speaks: ?lang= → the choice stored in the session → the user's
preferred language → Accept-Language → Simplified Chinese."""

from __future__ import annotations

from functools import lru_cache

from babel import Locale
from flask import current_app, has_request_context, request, session
from flask_login import current_user
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

LANG_SESSION_KEY = "lang"


def _supported(value: str | None) -> str | None:
    if not value:
        return None
    value = value.replace("-", "_")
    for lang in current_app.config["LANGUAGES"]:
        if value.lower() == lang.lower():
            return lang
    if value.lower().startswith("zh"):
        return "zh_CN"
    if value.lower().startswith("en"):
        return "en"
    return None


def remember_language(lang: str) -> None:
    """Make `lang` the visitor's stored choice (the session cookie is strictly necessary)."""
    if session.get(LANG_SESSION_KEY) != lang:
        session[LANG_SESSION_KEY] = lang


def select_locale() -> Locale:
    """The page's locale for Flask-Babel, parsed once per code (Locale.parse is slow)."""
    return _parsed(_select_code())


@lru_cache(maxsize=16)
def _parsed(code: str) -> Locale:
    return Locale.parse(code)


def _select_code() -> str:
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    page = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup
    chosen = None
    if page.query_string:  # most pages have none: no parsing, no lookup
        chosen = _supported(page.args.get("lang"))
        if chosen:
            remember_language(chosen)
    chosen = chosen or _supported(session.get(LANG_SESSION_KEY))
    if not chosen:
        user = current_user._get_current_object()
        if user.is_authenticated:
            chosen = _supported(user.preferred_language)
    if not chosen:
        chosen = _supported(_accepted(page.headers.get("Accept-Language", "")))
    return chosen or current_app.config["BABEL_DEFAULT_LOCALE"]


@lru_cache(maxsize=256)
def _accepted(header: str) -> str | None:
    """Accept-Language's choice, parsed once per header value: browsers send a handful."""
    return parse_accept_header(header, LanguageAccept).best_match(["zh_CN", "zh", "en"])


def html_lang(locale: str) -> str:
    """BCP 47 tag for <html lang>."""
    return "zh-CN" if str(locale) == "zh_CN" else "en"


def current_language() -> str:
    """The page's language as one of LANGUAGES ("zh_CN" or "en"), not Babel's expanded form."""
    from flask_babel import get_locale

    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh_CN"
