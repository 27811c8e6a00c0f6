"""Line up two editions section by section, by topic: what each says on the same subject."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

INTRO = "intro"
APPENDIX = "appendix"
_LAYOUT_KEYS = {"anchor", "number", "title", "topic"}


@dataclass
class CompareRow:
    """One subject: what edition A and edition B say on it (an empty list: not covered)."""

    topic: str
    a: list[dict[str, Any]] = field(default_factory=list)
    b: list[dict[str, Any]] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        """Both editions say exactly the same thing (numbering and anchors aside)."""
        return bool(self.a and self.b) and _wording(self.a) == _wording(self.b)


def _wording(sections: list[dict[str, Any]]) -> str:
    """The text of sections without titles, numbering and anchors, for an equality check."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in _LAYOUT_KEYS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(strip(sections), ensure_ascii=False, sort_keys=True)


def _parts(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The document as (topic, part) pairs: the intro, each section, the appendix."""
    intro = {"anchor": INTRO, "blocks": document["intro"]}
    parts: list[tuple[str, dict[str, Any]]] = [(INTRO, intro)]
    parts += [(section["topic"], section) for section in document["sections"]]
    if document.get("appendix"):
        parts.append((APPENDIX, document["appendix"]))
    return parts


def compare_rows(doc_a: dict[str, Any], doc_b: dict[str, Any]) -> list[CompareRow]:
    """Rows in B's order; topics only A has come right after the A topic preceding them."""
    rows: dict[str, CompareRow] = {}
    order: list[str] = []
    for topic, part in _parts(doc_b):
        if topic not in rows:
            rows[topic] = CompareRow(topic)
            order.append(topic)
        rows[topic].b.append(part)
    anchor_position = -1
    for topic, part in _parts(doc_a):
        if topic not in rows:
            rows[topic] = CompareRow(topic)
            order.insert(anchor_position + 1, topic)
        rows[topic].a.append(part)
        anchor_position = order.index(topic)
    return [rows[topic] for topic in order]
