"""Pricing a whole quote: instant prices from the rules, else an engineer's review; totals, VAT, lead dates."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ...extensions import db
from ...models import Quote
from ...models.base import utcnow
from ..working_days import add_working_days
from .catalogue import default_finish
from .records import money, record_event

log = logging.getLogger(__name__)

VAT_RATE = Decimal("0.13")
VALID_DAYS = 30
REVIEW_REPLY_WORKING_DAYS = 1


def price_quote(quote: Quote) -> None:
    """Price each part by the rules; all priced → "quoted" (instant), else "in_review".

    Parts the rules can price keep their instant price even when another part of the same
    quote goes to an engineer, who then only needs to price the rest.
    """
    from . import pricing
    from .geometry import PartGeometry

    rules = pricing.load_rules()
    reasons: list[str] = []
    warnings: set[str] = set()
    priced: list[tuple[Any, Any]] = []
    for drawing in quote.live_drawings:
        geometry = PartGeometry.from_dict(drawing.geometry) if drawing.geometry else None
        try:
            standard, expedited = (
                pricing.price_part(
                    quote.process,
                    quote.material,
                    quote.finish or default_finish(quote.process),
                    geometry,
                    quote.quantity,
                    expedited=fast,
                    notes=quote.notes,
                    file_format=drawing.extension,
                    rules=rules,
                )
                for fast in (False, True)
            )
        except pricing.NeedsReview as exc:
            drawing.review_reason = drawing.review_reason or exc.reason_code[:40]
            reasons.append(drawing.review_reason)
            continue
        drawing.unit_price = money(standard.unit_price)
        drawing.line_total = money(standard.subtotal)
        drawing.price_breakdown = {
            "source": "instant",
            "standard": standard.to_dict(),
            "expedited": expedited.to_dict(),
        }
        warnings.update(standard.warnings)
        priced.append((standard, expedited))
    quote.warnings = sorted(warnings) or None
    if reasons:
        send_to_review(quote, reasons[0])
        return
    set_price(
        quote,
        "instant",
        lead_standard=max(s.lead_days_standard for s, _ in priced),
        lead_expedited=max(e.lead_days_expedited for _, e in priced),
        expedite_subtotal=sum((e.subtotal for _, e in priced), Decimal(0)),
        vat_rate=Decimal(str(rules["vat_rate"])),
        valid_days=int(rules["validity_days"]),
    )
    db.session.commit()
    log.info("quote.priced quote=%s source=instant", quote.id)


def set_price(
    quote: Quote,
    source: str,
    lead_standard: int,
    lead_expedited: int | None,
    expedite_subtotal: Decimal | None,
    vat_rate: Decimal = VAT_RATE,
    valid_days: int = VALID_DAYS,
    now: datetime | None = None,
) -> None:
    """Totals from the parts' line totals, VAT (13 %), valid 30 days; status → quoted."""
    moment = now or utcnow()
    subtotal = money(sum((d.line_total or Decimal(0) for d in quote.live_drawings), Decimal(0)))
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
    quote.quoted_at = moment
    quote.review_due = None
    quote.status = "quoted"
    record_event(quote, "quoted", reason=source)


def send_to_review(quote: Quote, reason: str, now: datetime | None = None) -> None:
    """Hand the quote to an engineer with the promised reply date (China working days)."""
    quote.status = "in_review"
    quote.review_reason = reason[:40]
    quote.price_source = "engineer"
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
