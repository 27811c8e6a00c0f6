"""Helpers every template can use: language switch links, <html lang>, cookie banner state."""

from __future__ import annotations

from flask import Flask, request, url_for

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


def register_template_helpers(app: Flask) -> None:
    from .layout import register as register_layout

    register_layout(app)

    @app.context_processor
    def inject():
        locale = current_language()
        return {
            "current_locale": locale,
            "html_lang": html_lang(locale),
            "language_names": LANGUAGE_NAMES,
            "lang_url": lang_url,
            "cookie_choice": cookies.current_choice(),
            "site_name": app.config["SITE_NAME"],
        }
