"""Pricing a whole quote: instant prices from the rules, else an engineer's review; totals, VAT, lead dates."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from decimal import Decimal

from ...extensions import db
from ...models import Quote
from ...models.base import utcnow
from ..working_days import add_working_days
from .records import money, record_event

log = logging.getLogger(__name__)

VAT_RATE = Decimal("0.13")
VALID_DAYS = 30
REVIEW_REPLY_WORKING_DAYS = 1


def price_quote(quote: Quote, now: datetime | None = None, provisional: bool = False) -> None:
    """Price each part by its options; all priced → "quoted" (instant), else "in_review".

    `provisional`: the analysis has the exact measures but not yet the mesh checks; the prices
    are stored and shown while the quote stays "analysing" (not orderable), and nothing is kept
    unless every part is priced at once. Parts the rules can price keep their instant price even when another part of the same
    quote goes to an engineer, who then only needs to price the rest. A part an engineer priced
    keeps that price while its options stay as they were when priced.
    """
    from . import pricing
    from .part_quote import options_of, quote_part

    rules = pricing.load_rules()
    reasons: list[str] = []
    warnings: set[str] = set()
    lead_standard: list[int] = []
    lead_expedited: list[int] = []
    expedite_subtotal = Decimal(0)
    sources: set[str] = set()
    for part in quote.parts:
        options = options_of(part, quote)
        kept = part.price_breakdown or {}
        if kept.get("source") == "engineer" and kept.get("options") == options.as_dict():
            sources.add("engineer")
            expedite_subtotal += Decimal(kept.get("expedited_subtotal") or part.line_total or 0)
            continue
        result = quote_part(part, options, notes=quote.notes, rules=rules)
        if not result.instant:
            part.review_reason = (result.review_reason or "no_rule")[:40]
            part.unit_price = part.line_total = part.price_breakdown = None
            reasons.append(part.review_reason)
            continue
        standard, expedited = result.standard, result.expedited
        assert standard is not None and expedited is not None  # noqa: S101 - instant
        part.review_reason = None
        part.unit_price = money(standard.unit_price)
        part.line_total = money(standard.subtotal)
        part.price_breakdown = {
            "source": "instant",
            "standard": standard.to_dict(),
            "expedited": expedited.to_dict(),
        }
        sources.add("instant")
        warnings.update(standard.warnings)
        lead_standard.append(standard.lead_days_standard)
        lead_expedited.append(expedited.lead_days_expedited)
        expedite_subtotal += expedited.subtotal
    for drawing in quote.live_drawings:
        if drawing.part_of_id is not None:  # an attached drawing is read, not priced
            drawing.unit_price = drawing.line_total = drawing.price_breakdown = None
            drawing.review_reason = None
    quote.warnings = sorted(warnings) or None
    if reasons and provisional:
        db.session.rollback()
        return
    if reasons:
        _update_totals(quote)
        send_to_review(quote, reasons[0], now)
        return
    if "engineer" in sources:
        lead_standard.append(quote.lead_days_standard or 0)
        lead_expedited.append(quote.lead_days_expedited or 0)
    set_price(
        quote,
        "engineer" if "engineer" in sources else "instant",
        lead_standard=max(lead_standard, default=0),
        lead_expedited=max(lead_expedited, default=0) or None,
        expedite_subtotal=expedite_subtotal,
        vat_rate=Decimal(str(rules["vat_rate"])),
        valid_days=int(rules["validity_days"]),
        now=now,
        provisional=provisional,
    )
    db.session.commit()
    log.info("quote.priced quote=%s source=instant provisional=%s", quote.id, provisional)


def _update_totals(quote: Quote) -> None:
    """The instant parts' sum while others wait for an engineer (shown as a partial total)."""
    subtotal = money(sum((d.line_total or Decimal(0) for d in quote.parts), Decimal(0)))
    quote.subtotal = subtotal if subtotal else None
    quote.vat = money(subtotal * VAT_RATE) if subtotal else None
    quote.vat_rate = VAT_RATE if subtotal else None
    quote.total = quote.subtotal + quote.vat if subtotal else None
    quote.expedite_total = None


def set_price(
    quote: Quote,
    source: str,
    lead_standard: int,
    lead_expedited: int | None,
    expedite_subtotal: Decimal | None,
    vat_rate: Decimal = VAT_RATE,
    valid_days: int = VALID_DAYS,
    now: datetime | None = None,
    provisional: bool = False,
) -> None:
    """Totals from the parts' line totals, VAT (13 %), valid 30 days; status → quoted (unless
    `provisional`: shown while the analysis finishes, the status stays as it is)."""
    moment = now or utcnow()
    subtotal = money(sum((d.line_total or Decimal(0) for d in quote.parts), Decimal(0)))
    quote.subtotal = subtotal
    quote.vat_rate = vat_rate
    quote.vat = money(subtotal * vat_rate)
    quote.total = quote.subtotal + quote.vat
    quote.currency = "CNY"
    quote.price_source = source
    quote.valid_until = moment + timedelta(days=valid_days)
    quote.lead_days_standard = lead_standard
    quote.lead_days_expedited = lead_expedited
    if lead_expedited and expedite_subtotal is not None:
        expedite = money(expedite_subtotal)
        quote.expedite_total = expedite + money(expedite * vat_rate)
    else:
        quote.expedite_total = None
    if provisional:
        return
    quote.quoted_at = moment
    quote.review_due = None
    quote.status = "quoted"
    record_event(quote, "quoted", reason=source)


def send_to_review(quote: Quote, reason: str, now: datetime | None = None) -> None:
    """Hand the quote to an engineer with the promised reply date (China working days); a quote
    already waiting keeps its date when the customer changes a part."""
    quote.review_reason = reason[:40]
    quote.price_source = "engineer"
    if quote.status != "in_review" or quote.review_due is None:
        quote.status = "in_review"
        quote.review_due = review_due_date(now)
        record_event(quote, "in_review", reason=reason[:40])
    db.session.commit()
    log.info("quote.review quote=%s reason=%s", quote.id, reason)


def review_due_date(now: datetime | None = None) -> date:
    return add_working_days(now or utcnow(), REVIEW_REPLY_WORKING_DAYS)


def lead_dates(quote: Quote, start: datetime | None = None) -> dict[str, date | None]:
    """Ship-by dates of the standard and expedited lead times, by China's working days."""
    moment = start or quote.ordered_at or utcnow()
    return {
        "standard": add_working_days(moment, quote.lead_days_standard)
        if quote.lead_days_standard
        else None,
        "expedited": add_working_days(moment, quote.lead_days_expedited)
        if quote.lead_days_expedited
        else None,
    }
