"""A quote as a document: each part's options by name, price, breaks and DFM notes, the totals and
the lead times, as the quote page shows them. The PDF and the shared read-only page read this.

Built in the reader's locale (a request's, or `force_locale`): names and reasons are resolved to
text here. Prices are the stored ones the page and the totals use; `part_quote.quote_part` gives
what only it knows (breaks, DFM findings, per-part lead times, review reasons).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l

from ...models import Drawing, Quote
from . import geometry, part_quote, pricing
from .catalogue import catalogue_name, option_name
from .quote_pricing import lead_dates

PRICED_STATUSES = ("quoted", "in_review", "ordered", "expired")
REVIEW_REASON_DEFAULT = _l("An engineer checks this quote by hand.")
REVIEW_REASONS = {**geometry.REASON_LABELS, **pricing.REASON_LABELS}


@dataclass(frozen=True)
class PartOptionNames:
    """A part's options as a reader sees them: names, never codes."""

    process: str
    material: str
    finish: str
    quantity: int
    tolerance: str
    threads: int
    inspection: str


@dataclass(frozen=True)
class PartLine:
    """One part of the document."""

    id: int
    name: str
    options: PartOptionNames
    unit_price: Decimal | None
    line_total: Decimal | None
    source: str | None  # instant | engineer
    review_reason: str | None  # the reason as text, when the part waits for an engineer
    breaks: list[tuple[int, Decimal]] = field(default_factory=list)
    findings: list[tuple[str, str]] = field(default_factory=list)  # (severity code, message)
    lead_days_standard: int | None = None
    lead_days_expedited: int | None = None
    thumbnail: str | None = None  # a data: URI, only where the reader may see previews

    @property
    def in_review(self) -> bool:
        return self.unit_price is None


@dataclass(frozen=True)
class QuoteDocument:
    """The whole quote as the page shows it."""

    quote: Quote
    parts: list[PartLine]
    lead_dates: dict[str, date | None]

    @property
    def priced(self) -> bool:
        """There are totals to show (as on the page's price card)."""
        return self.quote.subtotal is not None and self.quote.status in PRICED_STATUSES

    @property
    def in_review_count(self) -> int:
        return sum(1 for line in self.parts if line.in_review)

    @property
    def partial(self) -> bool:
        """Some parts wait for an engineer: the totals cover the priced parts only."""
        return self.priced and self.quote.status == "in_review" and self.in_review_count > 0


def review_reason_text(code: str | None) -> str:
    return str(REVIEW_REASONS.get(code or "", REVIEW_REASON_DEFAULT))


def option_names(options: part_quote.PartOptions) -> PartOptionNames:
    return PartOptionNames(
        process=catalogue_name("process", options.process),
        material=catalogue_name("material", options.material, options.process),
        finish=catalogue_name("finish", options.finish, options.process),
        quantity=options.quantity,
        tolerance=option_name("tolerance", options.tolerance),
        threads=options.threads,
        inspection=option_name("inspection", options.inspection),
    )


def part_line(
    part: Drawing,
    quote: Quote,
    rules: dict[str, Any],
    thumbnail: Callable[[Drawing], str | None] | None = None,
) -> PartLine:
    """One part: its stored price, or why it waits, with what the rules say about it now."""
    options = part_quote.options_of(part, quote)
    result = (
        part_quote.quote_part(part, options, quote.notes, rules)
        if quote.status != "analysing"
        else None
    )
    reason = None
    if part.unit_price is None:
        if result is not None and not result.instant and result.review_reason:
            reason = result.review_reason
        reason = review_reason_text(reason or part.review_reason)
    instant = result is not None and result.instant
    return PartLine(
        id=part.id,
        name=part.filename,
        options=option_names(options),
        unit_price=part.unit_price,
        line_total=part.line_total,
        source=(part.price_breakdown or {}).get("source", quote.price_source),
        review_reason=reason,
        breaks=list(result.breaks) if instant and result else [],
        findings=[(f.severity, str(f.message)) for f in result.findings] if result else [],
        lead_days_standard=result.standard.lead_days_standard
        if instant and result and result.standard
        else None,
        lead_days_expedited=result.expedited.lead_days_expedited
        if instant and result and result.expedited
        else None,
        thumbnail=thumbnail(part) if thumbnail else None,
    )


def build(
    quote: Quote,
    thumbnail: Callable[[Drawing], str | None] | None = None,
    now: datetime | None = None,
) -> QuoteDocument:
    """The document of `quote` in the current locale; `thumbnail` gives a part's preview."""
    rules = pricing.load_rules()
    return QuoteDocument(
        quote=quote,
        parts=[part_line(p, quote, rules, thumbnail) for p in quote.parts],
        lead_dates=lead_dates(quote, now if quote.ordered_at is None else None),
    )
