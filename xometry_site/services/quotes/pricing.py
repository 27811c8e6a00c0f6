"""Instant prices for parts from the operator's rules file; anything the rules cannot price
honestly raises `NeedsReview(reason)` so an engineer quotes it instead.

Money is `Decimal` in CNY, each line rounded to 0.01 half-up; the unit price is the sum of its
rounded lines, so the breakdown always adds up to what the customer sees. Labels and reasons
are keys: the *_LABELS dicts give their English msgids, the UI translates them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import lazy_gettext as _l

from xometry_site.services.quotes.geometry import (
    ANALYSABLE_FORMATS,
    SMALLEST_SENSIBLE_MM,
    PartGeometry,
)
from xometry_site.services.quotes.pricing_rules import load_rules

CENT = Decimal("0.01")
LARGEST_SENSIBLE_MM = 2000

REASON_LABELS = {
    "process_needs_review": _l("This process is always quoted by an engineer."),
    "format_needs_review": _l("An engineer reads this file format and quotes it."),
    "analysis_failed": _l(
        "We could not measure this file automatically; an engineer will review it."
    ),
    "notes_request_tolerances": _l(
        "Your notes ask for tolerances or surface roughness; an engineer will review them."
    ),
    "no_rule": _l("There is no instant price for this combination; an engineer will quote it."),
    "mesh_not_closed": _l(
        "The model has holes, so its volume is uncertain; an engineer will check it."
    ),
    "part_too_large": _l("The part is larger than our instant-quote limit for this process."),
    "custom_tolerance": _l(
        "Custom tolerances are read from your drawing by an engineer, who quotes this part."
    ),
    "threads_need_review": _l("This many tapped holes is quoted by an engineer."),
    "dfm_review": _l(
        "Our manufacturability check found something an engineer must look at (see below)."
    ),
}
BREAKDOWN_LABELS = {
    "material": _l("Material"),
    "machine_time": _l("Machine time"),
    "finish": _l("Finish"),
    "setup": _l("Set-up (shared by the batch)"),
    "quantity_discount": _l("Quantity discount"),
    "expedite": _l("Expedited production"),
    "minimum_order": _l("Minimum order adjustment"),
    "tolerance": _l("Fine tolerance"),
    "threads": _l("Tapped holes"),
    "inspection": _l("Inspection"),
}
WARNING_LABELS = {
    "maybe_inches": _l("This part is under 5 mm long — was it drawn in inches?"),
    "maybe_too_large_or_wrong_units": _l(
        "This part is over 2 metres long — is it really that big, or drawn in other units?"
    ),
    "not_watertight": _l("The model is not closed (it has holes or loose faces)."),
}
SOURCE_LABELS = {
    "instant": _l("Instant price"),
    "engineer": _l("Reviewed by an engineer"),
}

# Requests an instant price cannot honour: tolerances, fits, roughness, geometric tolerances.
_TOLERANCE_RE = re.compile(
    r"公差|粗糙度|光洁度|精度|形位|平面度|平行度|垂直度|同轴度|同心度|圆度|圆柱度|位置度|跳动"
    r"|±|\+/-|\+-\s*\d"
    r"|\btoleranc|\btol\.|\broughness\b|\bflatness\b|\bparallelism\b|\bperpendicularity\b"
    r"|\bconcentricity\b|\bcylindricity\b|\brunout\b|\btrue position\b|\bGD\s*&\s*T\b"
    r"|\bRa\s*\d|\bRz\s*\d|\bIT\s?\d{1,2}\b",
    re.IGNORECASE,
)
# ISO fits are case-sensitive: capital for holes (H7), small for shafts (g6); M6 is a thread.
_FIT_RE = re.compile(r"(?<![A-Za-z0-9])(?:H(?:[5-9]|1[01])|[fghjkmnp][5-9])(?![A-Za-z0-9])")


class NeedsReview(Exception):
    """No instant price: an engineer quotes this part; `reason_code` is in REASON_LABELS."""

    def __init__(self, reason_code: str) -> None:
        super().__init__(reason_code)
        self.reason_code = reason_code


@dataclass(frozen=True)
class PartPrice:
    """One priced line: unit and totals in CNY, VAT shown separately, and where it came from."""

    process: str
    material: str
    finish: str
    quantity: int
    unit_price: Decimal
    subtotal: Decimal
    vat: Decimal
    total: Decimal
    lead_days_standard: int
    lead_days_expedited: int
    expedited: bool = False
    breakdown: list[tuple[str, Decimal]] = field(default_factory=list)  # per unit, sums to unit
    warnings: list[str] = field(default_factory=list)
    vat_rate: Decimal = Decimal("0.13")
    valid_days: int = 30
    currency: str = "CNY"
    source: str = "instant"

    @property
    def lead_days(self) -> int:
        """Working days for the chosen service."""
        return self.lead_days_expedited if self.expedited else self.lead_days_standard

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (money as strings, never floats)."""
        return {
            "process": self.process,
            "material": self.material,
            "finish": self.finish,
            "quantity": self.quantity,
            "unit_price": str(self.unit_price),
            "subtotal": str(self.subtotal),
            "vat": str(self.vat),
            "total": str(self.total),
            "vat_rate": str(self.vat_rate),
            "currency": self.currency,
            "lead_days_standard": self.lead_days_standard,
            "lead_days_expedited": self.lead_days_expedited,
            "expedited": self.expedited,
            "breakdown": [[key, str(amount)] for key, amount in self.breakdown],
            "warnings": list(self.warnings),
            "valid_days": self.valid_days,
            "source": self.source,
        }


def localized(names: dict[str, str], locale: str) -> str:
    """The catalogue name in the page's language (Chinese when in doubt)."""
    return names.get(locale) or names.get("zh_CN") or next(iter(names.values()))


def finish_allowed(process: dict[str, Any], material: str, finish: str) -> bool:
    """A finish exists for the process and, if limited, for this material (anodising: Al)."""
    f = process.get("finishes", {}).get(finish)
    return f is not None and material in f.get("materials", process.get("materials", {}))


# --------------------------------------------------------------------------- checks


def notes_need_review(notes: str | None) -> bool:
    """Notes that ask for tolerances, fits or roughness need an engineer (zh and en)."""
    return bool(notes) and bool(_TOLERANCE_RE.search(notes) or _FIT_RE.search(notes))


def sanity_warnings(geometry: PartGeometry) -> list[str]:
    """Hints for the customer about their model; keys of WARNING_LABELS."""
    warnings = []
    largest = max(geometry.size)
    if largest < SMALLEST_SENSIBLE_MM:
        warnings.append("maybe_inches")
    if largest > LARGEST_SENSIBLE_MM:
        warnings.append("maybe_too_large_or_wrong_units")
    if geometry.watertight is False:
        warnings.append("not_watertight")
    return warnings


def review_reason(
    process: str,
    file_format: str | None = None,
    geometry: PartGeometry | None = None,
    notes: str | None = None,
    rules: dict[str, Any] | None = None,
) -> str | None:
    """Why this part cannot get an instant price before any arithmetic, or None."""
    rules = rules or load_rules()
    rule = rules["processes"].get(process)
    if rule is None:
        return "no_rule"
    if not rule.get("instant"):
        return "process_needs_review"
    if file_format is not None and file_format.lower() not in ANALYSABLE_FORMATS:
        return "format_needs_review"
    if geometry is None:
        return "analysis_failed"
    if notes_need_review(notes):
        return "notes_request_tolerances"
    return None


# --------------------------------------------------------------------------- prices


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


def _cents(value: Decimal, rounding: str = ROUND_HALF_UP) -> Decimal:
    return value.quantize(CENT, rounding=rounding)


def quantity_break(rules: dict[str, Any], quantity: int) -> dict[str, Any]:
    """The largest break not above `quantity`."""
    return [b for b in rules["quantity_breaks"] if b["min_quantity"] <= quantity][-1]


def unit_costs(
    rule: dict[str, Any], material: dict[str, Any], geometry: PartGeometry
) -> dict[str, Decimal]:
    """Material and machine cost of one part, before discounts (unrounded)."""
    volume = _d(geometry.volume_mm3) / 1000  # cm³
    area = _d(geometry.area_mm2) / 100  # cm²
    density = _d(material["density_g_cm3"])
    handling = _d(rule.get("handling_hours_per_part", "0"))
    if rule["model"] == "subtractive":
        allowance = _d(rule.get("stock_allowance_mm", "0"))
        stock = math.prod(_d(s) + 2 * allowance for s in geometry.size) / 1000
        speed = _d(rule["removal_rate_cm3_per_hour"]) * _d(material.get("machinability", "1"))
        hours = max(stock - volume, Decimal(0)) / speed + area / _d(
            rule["finishing_rate_cm2_per_hour"]
        )
        used = stock
    elif rule["model"] == "additive":
        used = volume * _d(rule["support_factor"])
        hours = used / _d(rule["build_rate_cm3_per_hour"])
    else:  # sheet: the cut-and-bend time follows one side's area; nesting wastes material
        used = volume * _d(rule["scrap_factor"])
        hours = area / 2 / _d(rule["processing_rate_cm2_per_hour"])
    mass_kg = used * density / 1000
    return {
        "material": mass_kg * _d(material["price_cny_per_kg"]),
        "machine_time": (hours + handling) * _d(rule["machine_rate_cny_per_hour"]),
    }


@dataclass(frozen=True)
class PartBasis:
    """What one part costs whatever the quantity, checked and worked out once: the price at the
    chosen quantity, with expedite, and every quantity break then cost a few sums each."""

    process: str
    material: str
    finish: str
    rules: dict[str, Any]
    rule: dict[str, Any]
    per_part: dict[str, Decimal]  # material, machine time, tolerance, threads, finish (unrounded)
    per_part_inspection: Decimal
    per_line_inspection: Decimal
    extra_days: tuple[dict[str, Any], ...]  # finish, tolerance, inspection entries with extra_days
    warnings: tuple[str, ...]


def part_basis(
    process: str,
    material: str,
    finish: str,
    geometry: PartGeometry | None,
    *,
    notes: str | None = None,
    file_format: str | None = None,
    rules: dict[str, Any] | None = None,
    tolerance: str = "iso2768m",
    threads: int = 0,
    inspection: str = "standard",
) -> PartBasis:
    """The part's costs before quantity, or NeedsReview(reason) when the rules cannot price it."""
    rules = rules or load_rules()
    reason = review_reason(process, file_format, geometry, notes, rules)
    if reason:
        raise NeedsReview(reason)
    options = rules.get("options") or {}
    tol = (options.get("tolerance") or {}).get(tolerance)
    if tolerance != "iso2768m" and (tol is None or tol.get("review")):
        raise NeedsReview("custom_tolerance")
    thread_rule = options.get("threads") or {}
    if threads < 0 or threads > int(thread_rule.get("max_instant", 50)):
        raise NeedsReview("threads_need_review")
    check = (options.get("inspection") or {}).get(inspection)
    if inspection != "standard" and check is None:
        raise NeedsReview("no_rule")
    assert geometry is not None  # noqa: S101 - review_reason sent None to review
    rule = rules["processes"][process]
    if material not in rule["materials"] or not finish_allowed(rule, material, finish):
        raise NeedsReview("no_rule")
    if geometry.watertight is False:
        raise NeedsReview("mesh_not_closed")
    if any(s > m for s, m in zip(sorted(geometry.size), sorted(rule["max_size_mm"]), strict=True)):
        raise NeedsReview("part_too_large")

    costs = unit_costs(rule, rule["materials"][material], geometry)
    f = rule["finishes"][finish]
    costs["finish"] = _d(f["per_part_cny"]) + _d(f["per_cm2_cny"]) * _d(geometry.area_mm2) / 100
    costs["tolerance"] = costs["machine_time"] * (_d((tol or {}).get("machine_factor", "1")) - 1)
    costs["threads"] = _d(thread_rule.get("per_thread_cny", "0")) * threads
    check = check or {}
    return PartBasis(
        process=process,
        material=material,
        finish=finish,
        rules=rules,
        rule=rule,
        per_part=costs,
        per_part_inspection=_d(check.get("per_part_cny", "0")),
        per_line_inspection=_d(check.get("per_line_cny", "0")),
        extra_days=(f, tol or {}, check),
        warnings=tuple(sanity_warnings(geometry)),
    )


def price_at(basis: PartBasis, quantity: int, *, expedited: bool = False) -> PartPrice:
    """`quantity` identical parts of `basis`, at the standard or the expedited lead time."""
    if quantity < 1:
        raise ValueError("quantity must be at least 1")
    rules, rule = basis.rules, basis.rule
    costs = {
        **basis.per_part,
        "inspection": basis.per_part_inspection + basis.per_line_inspection / quantity,
    }
    qbreak = quantity_break(rules, quantity)
    discount = -(sum(costs.values(), Decimal(0)) * _d(qbreak["discount"]))
    setup = _d(rule.get("setup_cny", "0")) / quantity
    surcharge = _d(rules["expedite_surcharge"]) if expedited else Decimal(0)
    raw = [
        ("material", costs["material"]),
        ("machine_time", costs["machine_time"]),
        ("tolerance", costs["tolerance"]),
        ("threads", costs["threads"]),
        ("finish", costs["finish"]),
        ("inspection", costs["inspection"]),
        ("setup", setup),
        ("quantity_discount", discount),
        ("expedite", (sum(costs.values(), Decimal(0)) + discount + setup) * surcharge),
    ]
    # material and machine time always show; other lines only when they cost something
    rounded = [(key, _cents(v)) for key, v in raw]
    lines = [(key, v) for key, v in rounded if v or key in ("material", "machine_time")]
    unit = sum((amount for _, amount in lines), Decimal(0))
    minimum = _d(rule.get("minimum_cny", "0"))
    if unit * quantity < minimum:
        top_up = _cents((minimum - unit * quantity) / quantity, ROUND_CEILING)
        lines.append(("minimum_order", top_up))
        unit += top_up
    subtotal = unit * quantity
    vat_rate = _d(rules["vat_rate"])
    vat = _cents(subtotal * vat_rate)
    extra_days = sum(int(entry.get("extra_days", 0)) for entry in (qbreak, *basis.extra_days))
    return PartPrice(
        process=basis.process,
        material=basis.material,
        finish=basis.finish,
        quantity=quantity,
        unit_price=unit,
        subtotal=subtotal,
        vat=vat,
        total=subtotal + vat,
        lead_days_standard=rule["lead_days"]["standard"] + extra_days,
        lead_days_expedited=rule["lead_days"]["expedited"] + extra_days,
        expedited=expedited,
        breakdown=lines,
        warnings=list(basis.warnings),
        vat_rate=vat_rate,
        valid_days=rules["validity_days"],
    )


def price_part(
    process: str,
    material: str,
    finish: str,
    geometry: PartGeometry | None,
    quantity: int,
    *,
    expedited: bool = False,
    **options: Any,
) -> PartPrice:
    """Instant price of `quantity` identical parts, or NeedsReview(reason); `options` are
    part_basis's (notes, file_format, rules, tolerance, threads, inspection)."""
    if quantity < 1:
        raise ValueError("quantity must be at least 1")
    basis = part_basis(process, material, finish, geometry, **options)
    return price_at(basis, quantity, expedited=expedited)


def price_breaks(
    process: str,
    material: str,
    finish: str,
    geometry: PartGeometry,
    rules: dict[str, Any] | None = None,
) -> list[PartPrice]:
    """The price at each quantity break, for the "order more, pay less per part" table."""
    basis = part_basis(process, material, finish, geometry, rules=rules)
    return [price_at(basis, b["min_quantity"]) for b in basis.rules["quantity_breaks"]]


def valid_until(issued: date, rules: dict[str, Any] | None = None) -> date:
    """Last day an instant price holds (calendar days)."""
    rules = rules or load_rules()
    return issued + timedelta(days=rules["validity_days"])
