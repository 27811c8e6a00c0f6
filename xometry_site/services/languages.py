"""Rendering in a chosen language (mail, text messages, PDFs, exports, the site's pages)."""

from __future__ import annotations

from functools import lru_cache

from babel import Locale
from flask_babel import force_locale


@lru_cache(maxsize=16)
def parsed(code: str) -> Locale:
    """Parsing a code compares it with each of Babel's ~900 locale names: once per code will do."""
    return Locale.parse(code)


def in_language(code: str):
    """Flask-Babel's `force_locale`, given the parsed locale (a third of rendering a mail was
    parsing the same two codes again)."""
    return force_locale(parsed(code))
