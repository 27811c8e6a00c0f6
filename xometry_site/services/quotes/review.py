"""Staff review of quotes: the queue, each part's instant price and findings as a starting point,
the engineer's price or a refusal and the customer's message, staff downloads on record."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import undefer

from ...extensions import db
from ...models import AuditEvent, Drawing, Quote, User
from ...models.quote import DECLINE_REASONS
from ..privacy import audit_trail
from .part_quote import PartOptions, PartQuote
from .quote_pricing import set_price
from .records import QuoteError, money, record_event

REVIEWABLE = ("in_review", "analysing", "quoted")  # staff may still price or decline
NOTE_MAX = 2000
# What the customer reads (page and mail) for each of DECLINE_REASONS.
DECLINE_REASON_LABELS = {
    "cannot_make": _l("We cannot make this part as it is designed."),
    "outside_processes": _l("This part needs a process we do not offer."),
    "drawing_incomplete": _l(
        "The drawing is incomplete: we cannot quote it without the missing information."
    ),
    "other": _l("We cannot quote this request (see our note)."),
}

log = logging.getLogger(__name__)


def review_queue_counts() -> dict[str, int]:
    """How many quotes are in each status (the dashboard and the queue tabs)."""
    rows = db.session.execute(
        db.select(Quote.status, db.func.count(Quote.id)).group_by(Quote.status)
    )
    return {status: count for status, count in rows}


def quotes_with_status(status: str) -> list[Quote]:
    """The queue: oldest first for quotes waiting on us, newest first for the rest."""
    order = (
        Quote.created_at.asc() if status in ("in_review", "analysing") else Quote.created_at.desc()
    )
    return list(
        db.session.scalars(
            db.select(Quote)
            .filter_by(status=status)
            .options(undefer(Quote.part_count))
            .order_by(order)
        )
    )


def owner_of(quote: Quote) -> User | None:
    return db.session.get(User, quote.user_id)


def engineer_defaults(quote: Quote) -> dict[str, Any]:
    """Pre-fill for the engineer's form: the quote's lead times or the rules' for its process."""
    from . import pricing

    rules = pricing.load_rules()
    lead = rules["processes"].get(quote.process, {}).get("lead_days", {})
    return {
        "lead_days_standard": quote.lead_days_standard or lead.get("standard"),
        "lead_days_expedited": quote.lead_days_expedited or lead.get("expedited"),
        "expedite_percent": Decimal(str(rules.get("expedite_surcharge", "0"))) * 100,
        "note": quote.engineer_note,
    }


@dataclass(frozen=True)
class ReviewedPart:
    """What staff start from for one part: its options, today's instant quote (or why it has
    none, with the manufacturability findings) and the 2D drawings attached to it."""

    part: Drawing
    options: PartOptions
    result: PartQuote | None  # None while the quote is still being analysed
    attachments: list[Drawing]

    @property
    def suggested_price(self) -> Decimal | None:
        """The price already set on the part, else today's instant price, else nothing."""
        if self.part.unit_price is not None:
            return self.part.unit_price
        if self.result is not None and self.result.standard is not None:
            return self.result.standard.unit_price
        return None


def parts_for_review(quote: Quote) -> list[ReviewedPart]:
    """Each part priced as the customer's page prices it (part_quote is the one place)."""
    from . import pricing
    from .part_quote import options_of, quote_part

    rules = pricing.load_rules()
    measured = quote.status != "analysing"
    reviewed = []
    for part in quote.parts:
        options = options_of(part, quote)
        result = quote_part(part, options, quote.notes, rules) if measured else None
        reviewed.append(ReviewedPart(part, options, result, quote.attachments_of(part)))
    return reviewed


@dataclass(frozen=True)
class EngineerPrice:
    """What a staff member decides for a reviewed quote."""

    unit_prices: dict[int, Decimal]  # drawing id → price per piece (CNY, before VAT)
    lead_days_standard: int
    lead_days_expedited: int | None
    expedite_percent: Decimal | None  # surcharge on the total for the expedited lead time
    note: str | None


def set_engineer_price(quote: Quote, staff: User, price: EngineerPrice) -> None:
    """Price a reviewed quote part by part, then tell the customer (inbox, and mail or text)."""
    if not staff.is_staff:
        raise QuoteError("not_staff")
    if quote.status not in REVIEWABLE:
        raise QuoteError("not_reviewable")
    from .part_quote import options_of

    drawings = quote.parts
    if not drawings or any(d.id not in price.unit_prices for d in drawings):
        raise QuoteError("missing_part_price")
    factor = (
        Decimal(1) + price.expedite_percent / Decimal(100)
        if price.lead_days_expedited and price.expedite_percent is not None
        else None
    )
    for drawing in drawings:
        unit = money(price.unit_prices[drawing.id])
        if unit <= 0:
            raise QuoteError("missing_part_price")
        options = options_of(drawing, quote)
        drawing.unit_price = unit
        drawing.line_total = money(unit * options.quantity)
        drawing.review_reason = None
        drawing.price_breakdown = {
            "source": "engineer",
            "options": options.as_dict(),
            "expedited_subtotal": str(money(drawing.line_total * factor)) if factor else None,
        }
    expedite_subtotal = None
    if factor is not None:
        subtotal = sum((d.line_total or Decimal(0) for d in drawings), Decimal(0))
        expedite_subtotal = subtotal * factor
    quote.engineer_note = (price.note or "").strip() or None
    quote.reviewed_by_id = staff.id
    set_price(
        quote, "engineer", price.lead_days_standard, price.lead_days_expedited, expedite_subtotal
    )
    quote.events[-1].actor_id = staff.id
    notify_customer(quote)
    db.session.commit()  # the price and its message together
    log.info("quote.priced quote=%s source=engineer", quote.id)


def decline_quote(quote: Quote, staff: User, reason: str, note: str | None) -> None:
    """Refuse to quote, with a reason the customer reads on the quote page and in a mail; the
    quote can then be neither ordered nor changed."""
    if not staff.is_staff:
        raise QuoteError("not_staff")
    if quote.status not in REVIEWABLE:
        raise QuoteError("not_declinable")
    if reason not in DECLINE_REASONS:
        raise QuoteError("bad_decline_reason")
    note = (note or "").strip() or None
    if reason == "other" and note is None:
        raise QuoteError("decline_note_needed")
    if note is not None and len(note) > NOTE_MAX:
        raise QuoteError("message_too_long")
    quote.status = "declined"
    quote.decline_reason = reason
    quote.decline_note = note
    quote.reviewed_by_id = staff.id
    quote.review_due = None
    record_event(quote, "declined", reason=reason, actor=staff)
    audit_trail.record(
        "staff.quote_declined", subject_id=quote.user_id, actor_id=staff.id, target=_target(quote)
    )
    mail_owner(quote, "quote_declined", reason=DECLINE_REASON_LABELS[reason], note=note)
    db.session.commit()  # the refusal and its mail together
    log.info("quote.declined quote=%s reason=%s", quote.id, reason)


def notify_customer(quote: Quote) -> None:
    """Tell the owner their quote is priced: in their inbox, and by mail or text message."""
    from ..notifications import notify, path_for

    owner = db.session.get(User, quote.user_id)
    if owner is None or not owner.is_active:
        return
    notify(
        owner,
        "quote_priced",
        path_for("quotes.detail", ref=quote.ref),
        ref=quote.ref,
        total=quote.total,
        valid_until=quote.valid_until,
    )


def mail_owner(quote: Quote, template: str, **context: Any) -> None:
    """A mail about `quote` to its owner in their language, with a link to it (in the caller's
    transaction: sent once the caller commits)."""
    from ..mail import external_url, send_mail

    owner = db.session.get(User, quote.user_id)
    if owner is None or not owner.email or not owner.is_active:
        return
    send_mail(
        owner.email,
        template,
        owner.preferred_language,
        user_name=owner.name,
        ref=quote.ref,
        link=external_url("quotes.detail", ref=quote.ref),
        **context,
    )


def _target(quote: Quote) -> str:
    return f"quote:{quote.id}"


def record_staff_download(staff: User, drawing: Drawing) -> None:
    """Every staff download is on the owner's record (shown on the quote and under My data)."""
    db.session.add(
        AuditEvent(
            actor_id=staff.id,
            subject_id=drawing.user_id,
            action="drawing.download",
            target=f"drawing:{drawing.id}",
        )
    )
    db.session.commit()
    log.info("admin.drawing_download staff=%s drawing=%s", staff.id, drawing.id)


def staff_downloads(drawings: Iterable[Drawing]) -> dict[int, list[AuditEvent]]:
    """Staff downloads per drawing id, newest first, for the owner's quote page."""
    targets = {f"drawing:{d.id}": d.id for d in drawings}
    if not targets:
        return {}
    events = db.session.scalars(
        db.select(AuditEvent)
        .filter(AuditEvent.action == "drawing.download", AuditEvent.target.in_(list(targets)))
        .order_by(AuditEvent.created_at.desc())
    )
    found: dict[int, list[AuditEvent]] = {}
    for event in events:
        found.setdefault(targets[event.target or ""], []).append(event)
    return found
