"""One part's quote from its options: the instant price at both lead times, the price breaks,
the manufacturability findings, or what sends it to an engineer and which option caused it.

The one home for pricing a part: the quote page, the live price endpoint, repricing after a
save, the PDF and the staff view all call `quote_part`. It reads only the rules and the geometry
stored on the drawing, so a live reprice costs no SQL and no file read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ...models import Drawing, Quote
from ...models.quote import INSPECTIONS, TOLERANCES
from . import dfm, pricing
from .geometry import PartGeometry

BREAK_QUANTITIES = (1, 10, 50, 100)
# Which control (or fact) each review reason comes from, so the page shows it next to that control.
REASON_FIELDS = {
    "custom_tolerance": "tolerance",
    "threads_need_review": "threads",
    "notes_request_tolerances": "notes",
    "process_needs_review": "process",
    "no_rule": "material",
    "part_too_large": "process",
    "format_needs_review": "file",
    "analysis_failed": "file",
    "mesh_not_closed": "file",
    "dfm_review": "file",
}


@dataclass(frozen=True)
class PartOptions:
    """What the customer chose for one part."""

    process: str
    material: str
    finish: str
    quantity: int
    tolerance: str = "iso2768m"
    threads: int = 0
    inspection: str = "standard"

    def as_dict(self) -> dict[str, Any]:
        return {
            "process": self.process,
            "material": self.material,
            "finish": self.finish,
            "quantity": self.quantity,
            "tolerance": self.tolerance,
            "threads": self.threads,
            "inspection": self.inspection,
        }


@dataclass(frozen=True)
class PartQuote:
    """The answer for one part: instant prices, or the reason it goes to an engineer."""

    options: PartOptions
    standard: pricing.PartPrice | None = None
    expedited: pricing.PartPrice | None = None
    breaks: list[tuple[int, Decimal]] = field(default_factory=list)
    findings: list[dfm.Finding] = field(default_factory=list)
    review_reason: str | None = None

    @property
    def instant(self) -> bool:
        return self.standard is not None

    @property
    def review_field(self) -> str | None:
        return REASON_FIELDS.get(self.review_reason or "") if self.review_reason else None

    def as_json(self) -> dict[str, Any]:
        """The route contract's price shape, shared by the website and the Mini Program API:
        money as decimal strings, DFM messages in the current language."""
        standard, expedited = self.standard, self.expedited
        return {
            "instant": self.instant,
            "unit_price": str(standard.unit_price) if standard else None,
            "total": str(standard.subtotal) if standard else None,
            "currency": "CNY",
            "lead_days": {
                "standard": standard.lead_days_standard if standard else None,
                "expedited": expedited.lead_days_expedited if expedited else None,
            },
            "breaks": [{"quantity": q, "unit_price": str(u)} for q, u in self.breaks],
            "dfm": [f.to_dict() for f in self.findings],
        }


def options_of(part: Drawing, quote: Quote) -> PartOptions:
    """The part's saved options; a part saved before options existed takes its quote's."""
    from .catalogue import default_finish

    process = part.process or quote.process
    return PartOptions(
        process=process,
        material=part.material or quote.material,
        finish=part.finish or quote.finish or default_finish(process),
        quantity=part.quantity or quote.quantity,
        tolerance=part.tolerance or "iso2768m",
        threads=part.threads or 0,
        inspection=part.inspection or "standard",
    )


def quote_part(
    part: Drawing,
    options: PartOptions,
    notes: str | None = None,
    rules: dict[str, Any] | None = None,
) -> PartQuote:
    """Price `part` with `options`: no SQL, only the rules and the stored geometry."""
    rules = rules or pricing.load_rules()
    geometry = PartGeometry.from_dict(part.geometry) if part.geometry else None
    findings = (
        dfm.findings(part.geometry, options.process, rules, options.material)
        if part.geometry
        else []
    )
    if part.analysis_status in ("unmeasurable", "failed") and part.review_reason:
        return PartQuote(options, findings=findings, review_reason=part.review_reason)
    if options.tolerance not in TOLERANCES or options.inspection not in INSPECTIONS:
        return PartQuote(options, findings=findings, review_reason="no_rule")
    try:
        basis = pricing.part_basis(
            options.process,
            options.material,
            options.finish,
            geometry,
            notes=notes,
            file_format=part.extension,
            rules=rules,
            tolerance=options.tolerance,
            threads=options.threads,
            inspection=options.inspection,
        )
    except pricing.NeedsReview as exc:
        return PartQuote(options, findings=findings, review_reason=exc.reason_code)
    if dfm.needs_review(findings):
        return PartQuote(options, findings=findings, review_reason="dfm_review")
    return PartQuote(
        options,
        standard=pricing.price_at(basis, options.quantity),
        expedited=pricing.price_at(basis, options.quantity, expedited=True),
        breaks=price_breaks(basis, options.quantity),
        findings=findings,
    )


def price_breaks(basis: pricing.PartBasis, chosen: int) -> list[tuple[int, Decimal]]:
    """Unit price at 1, 10, 50 and 100 pieces and at the chosen quantity, ascending."""
    return [
        (quantity, pricing.price_at(basis, quantity).unit_price)
        for quantity in sorted({*BREAK_QUANTITIES, chosen})
    ]


def live_price(
    quote: Quote, part: Drawing, result: PartQuote, rules: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The live price endpoint's answer (website and Mini Program) for `part` of `quote` as
    stored: the other parts as they are."""
    others = [p for p in quote.parts if p.id != part.id]
    subtotal = sum((p.line_total or Decimal(0) for p in others), Decimal(0))
    return price_answer(result, subtotal, all(p.line_total is not None for p in others), rules)


def price_answer(
    result: PartQuote, others: Decimal, complete: bool, rules: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The part's price shape, what sends it to review (code and control; the caller names it),
    and the quote's totals were the part saved so. `others` is what the other parts cost,
    `complete` whether they all have a price (a price ticket carries both). Money as strings."""
    from .records import money

    rules = rules or pricing.load_rules()
    body: dict[str, Any] = {**result.as_json(), "review": None}
    subtotal = others
    if result.instant and result.standard:
        subtotal += result.standard.subtotal
    else:
        complete = False
        body["review"] = {"code": result.review_reason, "field": result.review_field}
    subtotal = money(subtotal)
    vat = money(subtotal * Decimal(str(rules["vat_rate"])))
    body["quote"] = {
        "subtotal": str(subtotal),
        "vat": str(vat),
        "total": str(subtotal + vat),
        "complete": complete,
    }
    return body
