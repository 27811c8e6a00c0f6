"""The Data Protection Policy editions as content, so publishing one is content plus one setting.

Files: ``content/<key>.<locale>.json`` for every locale in LOCALES; keys are the editions' names
and sort in publication order (the year: "2022", "2024"). Both languages of an edition share
anchors, numbers and topics.

Document schema::

    title: str
    effective_date: "YYYY-MM-DD" | null   # null: POLICY_EFFECTIVE_DATE (one edition at most)
    contact_email: str | null             # the address the edition was published with; null:
                                          # CONTACT_EMAIL (the current edition)
    former_ids: [str]                     # optional: ids it was once known by (dates it had)
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
the newest); later keys are drafts, neither listed nor served. An edition's id, used in URLs and
recorded on consents, is its key: stable, whatever its effective date. Ids of the past were
effective dates ("2022-03-15", "2024-07-01"): ``get_edition`` still resolves those (the edition
with that date, one listing it in ``former_ids``, or else the edition whose date is configured, for
a date after its predecessor's), so old addresses redirect and recorded consents keep their
edition when POLICY_EFFECTIVE_DATE is set. To publish a new edition: write the outgoing edition's
``effective_date`` and ``contact_email`` into its files (it keeps them once archived), add the new
files, then set POLICY_CURRENT_EDITION to the new key.
"""

from __future__ import annotations

import json
import re
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
DATE_ID = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Edition:
    """One published edition: what URLs, the editions list and the comparison need to know."""

    id: str
    key: str
    effective_date: date
    is_current: bool
    contact_email: str
    previous_id: str | None = None
    date_is_configured: bool = False  # effective_date comes from POLICY_EFFECTIVE_DATE
    former_ids: tuple[str, ...] = ()

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
        raw = read_raw(key, DEFAULT_LOCALE)
        fixed_date = raw.get("effective_date")
        effective = date.fromisoformat(fixed_date or configured_date)
        edition = Edition(
            id=key,
            key=key,
            effective_date=effective,
            is_current=key == current_key,
            contact_email=raw.get("contact_email") or contact_email,
            previous_id=previous_id,
            date_is_configured=not fixed_date,
            former_ids=tuple(raw.get("former_ids") or ()),
        )
        published.append(edition)
        previous_id = edition.id
    return published[::-1]


def current_edition(config: Mapping[str, Any]) -> Edition:
    """The edition in force."""
    return editions(config)[0]


def get_edition(config: Mapping[str, Any], edition_id: str | None) -> Edition | None:
    """A published edition by its id, or by a date id of the past (see the module's docstring);
    None if there is none."""
    published = editions(config)
    for edition in published:
        if edition_id in (edition.id, edition.effective_date.isoformat(), *edition.former_ids):
            return edition
    if not edition_id or not DATE_ID.fullmatch(edition_id):
        return None
    try:
        day = date.fromisoformat(edition_id)
    except ValueError:
        return None
    by_id = {edition.id: edition for edition in published}
    for edition in published:
        before = by_id.get(edition.previous_id or "")
        if edition.date_is_configured and (before is None or day > before.effective_date):
            return edition  # recorded while POLICY_EFFECTIVE_DATE said another day
    return None


def is_older(config: Mapping[str, Any], edition_id: str | None, than: Edition) -> bool:
    """Whether a recorded edition id names an edition published before `than` (an id that names
    no published edition counts as older: the user is asked again)."""
    edition = get_edition(config, edition_id)
    if edition is None:
        return True
    keys = content_keys()
    return keys.index(edition.key) < keys.index(than.key)


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
