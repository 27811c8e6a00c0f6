"""Instant prices: quantity breaks, VAT, minimums, lead times, and what goes to an engineer."""

from __future__ import annotations

import json
import os
import time
from datetime import date
from decimal import Decimal

import pytest

from xometry_site.services.quotes import pricing_rules
from xometry_site.services.quotes.geometry import PartGeometry
from xometry_site.services.quotes.pricing import (
    BREAKDOWN_LABELS,
    REASON_LABELS,
    WARNING_LABELS,
    NeedsReview,
    notes_need_review,
    price_breaks,
    price_part,
    sanity_warnings,
    valid_until,
)
from xometry_site.services.quotes.pricing_rules import RulesError, load_rules


def block(x: float, y: float, z: float, watertight: bool | None = True) -> PartGeometry:
    """A solid rectangular block as the geometry service would report it."""
    return PartGeometry(
        format="stl-binary",
        volume_mm3=x * y * z,
        area_mm2=2 * (x * y + y * z + x * z),
        bbox_min=(0.0, 0.0, 0.0),
        bbox_max=(x, y, z),
        triangles=12,
        watertight=watertight,
    )


BRACKET = block(50, 50, 20)
CNC = ("cnc_machining", "al6061", "as_machined")


def test_shipped_rules_are_valid_and_cover_every_process():
    rules = load_rules()
    assert set(rules["processes"]) == {
        "cnc_machining", "sla", "sls", "mjf", "fdm", "dmls", "sheet_metal", "injection_moulding",
    }  # fmt: skip
    al = rules["processes"]["cnc_machining"]["materials"]["al6061"]["name"]
    assert al == {"en": "Aluminium 6061-T6", "zh_CN": "铝合金 6061-T6"}


@pytest.mark.parametrize(
    ("process", "material", "finish"),
    [
        ("cnc_machining", "ss304", "passivated"),
        ("sla", "resin_standard", "standard"),
        ("sls", "pa12", "dyed_black"),
        ("mjf", "pa12", "standard"),
        ("fdm", "pla", "standard"),
        ("dmls", "alsi10mg", "standard"),
        ("sheet_metal", "spcc", "zinc_plated"),
    ],
)
def test_every_instant_process_prices_a_part(process, material, finish):
    price = price_part(process, material, finish, BRACKET, 3)
    assert price.source == "instant"
    assert price.unit_price > 0
    assert price.lead_days_expedited < price.lead_days_standard


def test_quantity_breaks_lower_the_unit_price():
    prices = price_breaks(*CNC, BRACKET)
    assert [p.quantity for p in prices] == [1, 10, 50, 100]
    units = [p.unit_price for p in prices]
    assert units == sorted(units, reverse=True) and len(set(units)) == 4
    assert any(key == "quantity_discount" and amount < 0 for key, amount in prices[-1].breakdown)


def test_vat_is_13_percent_of_the_net_price_and_totals_add_up():
    price = price_part(*CNC, BRACKET, 7)
    assert price.subtotal == price.unit_price * 7
    assert price.vat == (price.subtotal * Decimal("0.13")).quantize(Decimal("0.01"))
    assert price.total == price.subtotal + price.vat
    assert price.vat_rate == Decimal("0.13")
    assert price.unit_price == price.unit_price.quantize(Decimal("0.01"))


def test_the_breakdown_adds_up_to_the_unit_price_and_every_line_has_a_label():
    for quantity in (1, 3, 10, 99, 1000):
        price = price_part(*CNC, BRACKET, quantity, expedited=True)
        assert sum(amount for _, amount in price.breakdown) == price.unit_price
        assert {key for key, _ in price.breakdown} <= set(BREAKDOWN_LABELS)


def test_set_up_is_shared_by_the_batch():
    one = dict(price_part(*CNC, BRACKET, 1).breakdown)
    four = dict(price_part(*CNC, BRACKET, 4).breakdown)
    assert one["setup"] == Decimal("250.00") and four["setup"] == Decimal("62.50")


def test_minimum_order_applies_to_a_tiny_cheap_part():
    price = price_part("sla", "resin_standard", "standard", block(10, 10, 10), 1)
    assert price.subtotal == Decimal("50.00")  # the SLA minimum
    assert dict(price.breakdown)["minimum_order"] > 0
    bigger = price_part("sla", "resin_standard", "standard", block(10, 10, 10), 40)
    assert "minimum_order" not in dict(bigger.breakdown)


def test_minimum_rounds_up_so_the_order_never_falls_below_it():
    price = price_part("sla", "resin_standard", "standard", block(10, 10, 10), 3)
    assert Decimal("50.00") <= price.subtotal < Decimal("50.00") + 3 * Decimal("0.01")


def test_expedited_costs_more_and_is_faster():
    standard = price_part(*CNC, BRACKET, 5)
    fast = price_part(*CNC, BRACKET, 5, expedited=True)
    assert fast.unit_price > standard.unit_price
    assert fast.lead_days < standard.lead_days


def test_finishes_and_large_batches_add_working_days():
    plain = price_part(*CNC, BRACKET, 1)
    anodised = price_part("cnc_machining", "al6061", "anodized_black", BRACKET, 1)
    batch = price_part(*CNC, BRACKET, 100)
    assert anodised.lead_days_standard > plain.lead_days_standard
    assert batch.lead_days_standard > plain.lead_days_standard


def test_harder_denser_material_costs_more():
    assert price_part("cnc_machining", "ti_tc4", "as_machined", BRACKET, 1).unit_price > (
        price_part(*CNC, BRACKET, 1).unit_price
    )


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        (
            {"process": "injection_moulding", "material": "abs", "finish": "standard"},
            "process_needs_review",
        ),
        ({"file_format": "dwg"}, "format_needs_review"),
        ({"file_format": "pdf"}, "format_needs_review"),
        ({"file_format": "SLDPRT"}, "format_needs_review"),
        ({"file_format": "x_t"}, "format_needs_review"),
        ({"file_format": "x_b"}, "format_needs_review"),
        ({"geometry": None}, "analysis_failed"),
        ({"notes": "All holes H7, please"}, "notes_request_tolerances"),
        ({"notes": "未注公差按 GB/T 1804-m"}, "notes_request_tolerances"),
        ({"material": "unobtainium"}, "no_rule"),
        ({"finish": "anodized_black", "material": "ss304"}, "no_rule"),  # anodising is for Al
        ({"process": "laser_engraving"}, "no_rule"),
        ({"geometry": block(50, 50, 20, watertight=False)}, "mesh_not_closed"),
        ({"geometry": block(900, 100, 100)}, "part_too_large"),
    ],
)
def test_what_an_engineer_must_quote(kwargs, reason):
    args = {"process": CNC[0], "material": CNC[1], "finish": CNC[2], "geometry": BRACKET}
    args |= {"quantity": 1, **kwargs}
    with pytest.raises(NeedsReview) as caught:
        price_part(**args)
    assert caught.value.reason_code == reason
    assert reason in REASON_LABELS


def test_analysable_formats_are_priced_instantly():
    for fmt in ("stl", "STEP", "stp", "iges", "igs"):
        assert price_part(*CNC, BRACKET, 1, file_format=fmt).source == "instant"


@pytest.mark.parametrize(
    "notes",
    [
        "tolerance ±0.02 on the bore",
        "Tolerances per ISO 2768-f",
        "Ra 0.8 on sealing faces",
        "Ra0.4",
        "bore Ø10 H7/g6 fit",
        "IT7",
        "flatness 0.01",
        "+/- 0.05",
        "公差 ±0.01",
        "表面粗糙度 Ra1.6",
        "孔位精度要求高",
        "平面度 0.02，垂直度 0.01",
    ],
)
def test_notes_asking_for_tolerances_need_review(notes):
    assert notes_need_review(notes)


@pytest.mark.parametrize(
    "notes",
    [
        "",
        None,
        "Please deliver before Friday",
        "M6 threads, 4 places",
        "感谢配合，尽快发货",
        "extra 3 pcs",
        "黑色",
    ],
)
def test_ordinary_notes_do_not(notes):
    assert not notes_need_review(notes)


def test_a_two_millimetre_part_warns_about_inches():
    tiny = block(2, 1.5, 1)
    assert sanity_warnings(tiny) == ["maybe_inches"]
    assert "maybe_inches" in price_part("sla", "resin_standard", "standard", tiny, 1).warnings
    assert sanity_warnings(BRACKET) == []
    assert sanity_warnings(block(2500, 10, 10)) == ["maybe_too_large_or_wrong_units"]
    assert sanity_warnings(block(50, 50, 20, watertight=False)) == ["not_watertight"]
    assert set(WARNING_LABELS) >= {
        "maybe_inches",
        "maybe_too_large_or_wrong_units",
        "not_watertight",
    }


def test_prices_are_valid_30_days_and_serialise_without_floats():
    price = price_part(*CNC, BRACKET, 2)
    assert price.valid_days == 30
    assert valid_until(date(2025, 1, 31)) == date(2025, 3, 2)
    data = json.loads(json.dumps(price.to_dict()))
    assert data["vat_rate"] == "0.13" and data["source"] == "instant"
    assert Decimal(data["total"]) == price.total


def _edited_rules(tmp_path, edit):
    rules = json.loads(pricing_rules.RULES_PATH.read_text(encoding="utf-8"))
    edit(rules)
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules), encoding="utf-8")
    return path


def test_the_operator_edits_the_rules_file_and_prices_follow(tmp_path, monkeypatch):
    path = _edited_rules(tmp_path, lambda rules: None)
    loaded = load_rules(path)
    before = price_part(*CNC, BRACKET, 1, rules=loaded)
    rules = json.loads(path.read_text(encoding="utf-8"))
    rules["processes"]["cnc_machining"]["machine_rate_cny_per_hour"] = "300"
    path.write_text(json.dumps(rules), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # a later edit
    assert load_rules(path) is loaded  # the file is not looked at again within RECHECK_SECONDS
    clock = time.monotonic() + pricing_rules.RECHECK_SECONDS
    monkeypatch.setattr(
        pricing_rules.time, "monotonic", lambda: clock
    )  # ... but once they are past
    after = price_part(*CNC, BRACKET, 1, rules=load_rules(path))
    assert after.unit_price > before.unit_price


def test_a_broken_rules_file_is_refused_with_every_problem_listed(tmp_path):
    def break_it(rules):
        rules["vat_rate"] = "1.5"
        rules["quantity_breaks"][0]["min_quantity"] = 2
        del rules["processes"]["sla"]["materials"]["resin_clear"]["density_g_cm3"]
        rules["processes"]["cnc_machining"]["finishes"]["passivated"]["materials"] = ["gold"]

    with pytest.raises(RulesError) as caught:
        load_rules(_edited_rules(tmp_path, break_it))
    message = str(caught.value)
    for problem in ("vat_rate", "quantity_breaks", "resin_clear.density_g_cm3", "gold"):
        assert problem in message
