"""The operator's pricing rules file: loaded when it changes (no restart), checked as a whole so
every problem is listed at once. `python -m xometry_site.services.quotes.pricing_rules [file]`
checks a file before it is put in place."""

from __future__ import annotations

import json
import sys
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

RULES_PATH = Path(__file__).resolve().parents[2] / "data" / "pricing_rules.json"
MODELS = ("subtractive", "additive", "sheet")
DFM_LIMITS = ("min_wall_mm", "min_feature_mm", "max_wall_mm")  # optional, per process or material


class RulesError(ValueError):
    """The operator's rules file is unusable; the message lists every problem."""


# A quote list names each row's process from the rules: a stat() per row cost a tenth of the page
# under load (each releases the GIL to the other threads), so a file is looked at again only after
# RECHECK_SECONDS; an edit still needs no restart.
RECHECK_SECONDS = 2.0
_cache: dict[Path, tuple[int, float, dict[str, Any]]] = {}


def load_rules(path: str | Path | None = None) -> dict[str, Any]:
    """The validated rules; re-read when the file changes, so edits need no restart."""
    path = Path(path) if path else RULES_PATH
    cached = _cache.get(path)
    now = time.monotonic()
    if cached and now - cached[1] < RECHECK_SECONDS:
        return cached[2]
    stamp = path.stat().st_mtime_ns
    if cached and cached[0] == stamp:
        _cache[path] = (stamp, now, cached[2])
        return cached[2]
    with path.open(encoding="utf-8") as f:
        rules = json.load(f)
    problems = validate_rules(rules)
    if problems:
        raise RulesError(f"{path}: " + "; ".join(problems))
    _cache[path] = (stamp, now, rules)
    return rules


def validate_rules(rules: dict[str, Any]) -> list[str]:
    """Every problem in a rules document, so the operator can fix them in one go."""
    problems: list[str] = []

    def number(where: str, value: Any, low: str = "0", high: str | None = None) -> None:
        try:
            d = Decimal(str(value))
        except InvalidOperation:
            problems.append(f"{where} is not a number")
            return
        if not d.is_finite() or d < Decimal(low) or (high is not None and d >= Decimal(high)):
            problems.append(f"{where} is out of range")

    number("vat_rate", rules.get("vat_rate"), "0", "1")
    number("expedite_surcharge", rules.get("expedite_surcharge"), "0", "10")
    if not isinstance(rules.get("validity_days"), int) or rules["validity_days"] < 1:
        problems.append("validity_days must be a positive whole number")
    breaks = rules.get("quantity_breaks") or []
    if not breaks or breaks[0].get("min_quantity") != 1:
        problems.append("quantity_breaks must start at min_quantity 1")
    if [b.get("min_quantity", 0) for b in breaks] != sorted(
        {b.get("min_quantity", 0) for b in breaks}
    ):
        problems.append("quantity_breaks must be in increasing min_quantity order")
    for i, b in enumerate(breaks):
        number(f"quantity_breaks[{i}].discount", b.get("discount"), "0", "1")
    processes = rules.get("processes") or {}
    if not processes:
        problems.append("no processes")
    for pid, p in processes.items():
        _validate_process(pid, p, number, problems)
    _validate_options(rules, number, problems)
    return problems


def _validate_options(rules: dict[str, Any], number: Any, problems: list[str]) -> None:
    """The per-part options (tolerance, threads, inspection) and the defaults of a new part."""
    defaults = rules.get("defaults") or {}
    process = (rules.get("processes") or {}).get(defaults.get("process", ""))
    if defaults and (process is None or defaults.get("material") not in process["materials"]):
        problems.append("defaults must name a process and one of its materials")
    options = rules.get("options")
    if options is None:
        return
    tolerances = options.get("tolerance") or {}
    if "iso2768m" not in tolerances:
        problems.append("options.tolerance needs iso2768m, the standard")
    for key, entry in tolerances.items():
        if not {"en", "zh_CN"} <= set(entry.get("name", {})):
            problems.append(f"options.tolerance.{key}.name needs en and zh_CN")
        if not entry.get("review"):
            number(f"options.tolerance.{key}.machine_factor", entry.get("machine_factor"), "1")
    number("options.threads.per_thread_cny", (options.get("threads") or {}).get("per_thread_cny"))
    inspections = options.get("inspection") or {}
    if "standard" not in inspections:
        problems.append("options.inspection needs standard")
    for key, entry in inspections.items():
        if not {"en", "zh_CN"} <= set(entry.get("name", {})):
            problems.append(f"options.inspection.{key}.name needs en and zh_CN")
        for money_key in ("per_part_cny", "per_line_cny"):
            number(f"options.inspection.{key}.{money_key}", entry.get(money_key, "0"))


def _validate_process(pid: str, p: dict[str, Any], number: Any, problems: list[str]) -> None:
    where = f"processes.{pid}"
    if not {"en", "zh_CN"} <= set(p.get("name", {})):
        problems.append(f"{where}.name needs en and zh_CN")
    lead = p.get("lead_days", {})
    if not all(isinstance(lead.get(k), int) and lead[k] > 0 for k in ("standard", "expedited")):
        problems.append(f"{where}.lead_days needs standard and expedited working days")
    if not p.get("materials") or not p.get("finishes"):
        problems.append(f"{where} needs materials and finishes")
    for kind in ("materials", "finishes"):
        for key, entry in (p.get(kind) or {}).items():
            if not {"en", "zh_CN"} <= set(entry.get("name", {})):
                problems.append(f"{where}.{kind}.{key}.name needs en and zh_CN")
    _validate_dfm_limits(where, p, number, problems)
    for mid, m in (p.get("materials") or {}).items():
        _validate_dfm_limits(f"{where}.materials.{mid}", m, number, problems)
    if not p.get("instant"):
        return
    if p.get("model") not in MODELS:
        problems.append(f"{where}.model must be one of {', '.join(MODELS)}")
        return
    rates = {
        "subtractive": ("removal_rate_cm3_per_hour", "finishing_rate_cm2_per_hour"),
        "additive": ("build_rate_cm3_per_hour", "support_factor"),
        "sheet": ("processing_rate_cm2_per_hour", "scrap_factor"),
    }[p["model"]]
    for key in ("machine_rate_cny_per_hour", *rates):
        number(f"{where}.{key}", p.get(key), "0.000001")
    for key in ("setup_cny", "minimum_cny", "handling_hours_per_part"):
        number(f"{where}.{key}", p.get(key, "0"))
    if len(p.get("max_size_mm", [])) != 3:
        problems.append(f"{where}.max_size_mm needs three dimensions")
    for mid, m in p["materials"].items():
        number(f"{where}.materials.{mid}.density_g_cm3", m.get("density_g_cm3"), "0.000001")
        number(f"{where}.materials.{mid}.price_cny_per_kg", m.get("price_cny_per_kg"))
        number(f"{where}.materials.{mid}.machinability", m.get("machinability", "1"), "0.000001")
    for fid, f in p["finishes"].items():
        number(f"{where}.finishes.{fid}.per_part_cny", f.get("per_part_cny"))
        number(f"{where}.finishes.{fid}.per_cm2_cny", f.get("per_cm2_cny"))
        for mid in f.get("materials", []):
            if mid not in p["materials"]:
                problems.append(f"{where}.finishes.{fid} names unknown material {mid}")


def _validate_dfm_limits(
    where: str, entry: dict[str, Any], number: Any, problems: list[str]
) -> None:
    """Optional manufacturability limits (dfm.py): sizes in mm above zero, walls min ≤ max."""
    for key in DFM_LIMITS:
        if key in entry:
            number(f"{where}.{key}", entry[key], "0.000001")
    low, high = entry.get("min_wall_mm"), entry.get("max_wall_mm")
    if isinstance(low, int | float) and isinstance(high, int | float) and low > high:
        problems.append(f"{where}.max_wall_mm is below min_wall_mm")


if (
    __name__ == "__main__"
):  # `python -m xometry_site.services.quotes.pricing_rules [rules.json]`: check a file
    try:
        checked = load_rules(sys.argv[1] if len(sys.argv) > 1 else None)
    except (RulesError, ValueError) as exc:
        print(exc)
        sys.exit(1)
    print(f"OK: {len(checked['processes'])} processes")
