"""The Data Protection Policy editions as content, so publishing one is content plus one setting.

Files: ``content/<key>.<locale>.json`` for every locale in LOCALES; keys sort in publication order
(a year or an ISO date). Both languages of an edition share anchors, numbers and topics.

Document schema::

    title: str
    effective_date: "YYYY-MM-DD" | null   # null: POLICY_EFFECTIVE_DATE (one edition at most)
    intro: [block]                        # paragraphs before the table of contents
    toc_title: str | null                 # the text's own heading for the contents, if it has one
    sections: [{anchor, number | null, title, topic, blocks: [block]}]
    appendix: null | {anchor, title, blocks: [block], columns: [4 str],
                      rows: [{scenario, rows: [{sub | null, information: [str],
                                                purpose: [str], method: [str]}]}]}
    changes: [str]                        # summary of changes from the previous edition

    block: {"type": "p", "text": str}
         | {"type": "ul", "items": [str]}
         | {"type": "ol", "items": [{label, text, items?: [{label, text}]}]}
         | {"type": "subsection", anchor, number, title, blocks: [block]}

``topic`` lines up sections of different editions for the comparison page. Texts may hold
``{contact_email}`` (setting CONTACT_EMAIL) and ``{effective_date}`` (the edition's date, written
long in the document's language); ``load_document`` fills them in. Texts are plain: templates
escape them.

Editions are the keys with every language file. POLICY_CURRENT_EDITION names the current key (unset:
the newest); later keys are drafts, neither listed nor served. An edition's id, used in URLs, is its
effective date. To publish a new edition: add its files (with their ``effective_date``), then set
POLICY_CURRENT_EDITION to the new key — the one setting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.dates import format_date

CONTENT_DIR = Path(__file__).resolve().parent / "content"
LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
DEFAULT_EFFECTIVE_DATE = "2024-07-01"
DEFAULT_CONTACT_EMAIL = "info@xometry.asia"


@dataclass(frozen=True)
class Edition:
    """One published edition: what URLs, the editions list and the comparison need to know."""

    id: str
    key: str
    effective_date: date
    is_current: bool
    contact_email: str
    previous_id: str | None = None

    @property
    def is_archived(self) -> bool:
        """Every edition but the current one is kept read-only for reference."""
        return not self.is_current


def normalize_locale(locale: object) -> str:
    """Map a babel Locale or a code ('en', 'en_US', 'zh_Hans_CN') onto a content language."""
    code = str(locale or "").replace("-", "_")
    language = getattr(locale, "language", None) or code.split("_")[0]
    return "en" if language == "en" else DEFAULT_LOCALE


@lru_cache(maxsize=64)  # a handful of editions × two languages; Babel parses the locale each call
def format_effective_date(value: date, locale: str) -> str:
    """The long date as the policy text writes it: 'July 1, 2024' / '2024年7月1日'."""
    return format_date(value, "long", locale=normalize_locale(locale))


@lru_cache(maxsize=1)
def content_keys() -> tuple[str, ...]:
    """Keys with a file for every locale, oldest first."""
    stems = {path.name.split(".", 1)[0] for path in CONTENT_DIR.glob("*.json")}
    return tuple(sorted(k for k in stems if all(_path(k, lc).exists() for lc in LOCALES)))


def _path(key: str, locale: str) -> Path:
    return CONTENT_DIR / f"{key}.{locale}.json"


@lru_cache(maxsize=32)
def read_raw(key: str, locale: str) -> Mapping[str, Any]:
    """The stored document, placeholders unfilled (cached: content ships with the code)."""
    with _path(key, locale).open(encoding="utf-8") as handle:
        return json.load(handle)


def editions(config: Mapping[str, Any]) -> list[Edition]:
    """Published editions, newest (the current one) first."""
    keys = content_keys()
    current_key = config.get("POLICY_CURRENT_EDITION") or keys[-1]
    if current_key not in keys:
        raise LookupError(f"POLICY_CURRENT_EDITION={current_key!r} has no content files")
    configured_date = str(config.get("POLICY_EFFECTIVE_DATE") or DEFAULT_EFFECTIVE_DATE)
    contact_email = config.get("CONTACT_EMAIL") or DEFAULT_CONTACT_EMAIL
    published: list[Edition] = []
    previous_id = None
    for key in keys[: keys.index(current_key) + 1]:
        fixed_date = read_raw(key, DEFAULT_LOCALE).get("effective_date")
        effective = date.fromisoformat(fixed_date or configured_date)
        edition = Edition(
            id=effective.isoformat(),
            key=key,
            effective_date=effective,
            is_current=key == current_key,
            contact_email=contact_email,
            previous_id=previous_id,
        )
        published.append(edition)
        previous_id = edition.id
    return published[::-1]


def current_edition(config: Mapping[str, Any]) -> Edition:
    """The edition in force."""
    return editions(config)[0]


def get_edition(config: Mapping[str, Any], edition_id: str) -> Edition | None:
    """A published edition by its id (effective date) or its content key; None if there is none."""
    for edition in editions(config):
        if edition_id in (edition.id, edition.key):
            return edition
    return None


def _fill(value: Any, values: Mapping[str, str]) -> Any:
    """Fill {placeholders} in every string of a document (str.replace: other braces stay)."""
    if isinstance(value, str):
        for name, text in values.items():
            value = value.replace("{" + name + "}", text)
        return value
    if isinstance(value, list):
        return [_fill(item, values) for item in value]
    if isinstance(value, dict):
        return {name: _fill(item, values) for name, item in value.items()}
    return value


@lru_cache(maxsize=64)
def load_document(edition: Edition, locale: str = DEFAULT_LOCALE) -> dict[str, Any]:
    """The edition's text in zh_CN (or English), placeholders filled; shared: do not mutate."""
    language = normalize_locale(locale)
    values = {
        "contact_email": edition.contact_email,
        "effective_date": format_effective_date(edition.effective_date, language),
    }
    return _fill(dict(read_raw(edition.key, language)), values)
