"""Which language a page speaks: ?lang= → the visitor's language cookie → the user's preferred
language → Accept-Language → Simplified Chinese. The Mini Program's API reads no cookie and no
query: the account's preferred language (once its bearer token is checked) → Accept-Language.

The choice lives in a cookie of its own, not in the session, so that a visitor who only reads
public pages never gets a session and those pages stay cacheable (see pages/cache.py).
"""

from __future__ import annotations

from functools import lru_cache

from babel import Locale
from flask import after_this_request, current_app, g, has_request_context, request
from flask_login import current_user
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from .security import may_be_signed_in
from .services.cookies import LANGUAGE_COOKIE as LANG_COOKIE
from .services.languages import parsed

API_LANGUAGE_KEY = "api_account_language"  # in `g`, set by the API's bearer check
TICKET_LANGUAGE_KEY = "price_ticket_language"  # in `g`: the language of the page that made it


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
    """Make `lang` the visitor's stored choice (a strictly necessary cookie: they asked for it)."""
    if g.get("remembered_language", request.cookies.get(LANG_COOKIE)) == lang:
        return
    first = "remembered_language" not in g
    g.remembered_language = lang
    if first:

        @after_this_request
        def set_language_cookie(response):
            config = current_app.config
            response.set_cookie(
                LANG_COOKIE,
                g.remembered_language,
                max_age=config["LANGUAGE_COOKIE_MAX_AGE"],
                httponly=True,
                samesite="Lax",
                secure=config["SESSION_COOKIE_SECURE"],
                path="/",
            )
            return response


def select_locale() -> Locale:
    """The page's locale for Flask-Babel (asked once per request)."""
    return parsed(_select_code())


def language_without_account() -> str:
    """The page's language from the request alone (?lang=, the language cookie, Accept-Language):
    for pages that must not load the account, such as the one saying the database is down."""
    chosen = _supported(request.args.get("lang")) or _supported(request.cookies.get(LANG_COOKIE))
    chosen = chosen or _supported(_accepted(request.headers.get("Accept-Language", "")))
    return chosen or current_app.config["BABEL_DEFAULT_LOCALE"]


def _select_code() -> str:
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    from .api.errors import is_api_request

    if is_api_request():
        chosen = _supported(g.get(API_LANGUAGE_KEY))
        chosen = chosen or _supported(_accepted(request.headers.get("Accept-Language", "")))
        return chosen or current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = _supported(request.args.get("lang"))
    if chosen:
        remember_language(chosen)
    chosen = chosen or _supported(request.cookies.get(LANG_COOKIE))
    chosen = chosen or _supported(g.get(TICKET_LANGUAGE_KEY))  # the page's, so no user to load
    if not chosen and may_be_signed_in() and current_user.is_authenticated:
        chosen = _supported(current_user.preferred_language)
    if not chosen:
        chosen = _supported(_accepted(request.headers.get("Accept-Language", "")))
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
