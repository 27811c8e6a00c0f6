"""Manufacturability (DFM) feedback: the mesh is measured once, each process judges the numbers.

`measure` runs when a drawing is analysed, on the triangles the analysis already holds, and
returns a small JSON-safe record (wall thickness and gaps by ray casting, a bounded
self-intersection check) stored in the drawing's geometry under "dfm". `findings` turns that
record, the rest of the geometry and one process's rules into coded findings with a translated
sentence; it reads no mesh and no database, so the quote page can call it on every reprice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from flask_babel import LazyString, get_locale
from flask_babel import lazy_gettext as _l

from .dfm_measure import METHOD, measure, measure_geometry
from .geometry import SMALLEST_SENSIBLE_MM

__all__ = ["DFM_LABELS", "METHOD", "Finding", "findings", "measure", "measure_geometry"]

THIN_PERCENTILE = "p1"  # walls are "thin" when at least 1% of the surface is under the minimum
SMALL_FEATURE_COUNT = 2  # readings under the minimum before a detail counts as too small
INCONSISTENT_SHARE = 0.05  # readings whose nearest surface faces the wrong way, at most
MM_PER_INCH = 25.4

SEVERITIES = ("info", "warning", "review")  # "review" sends the part to an engineer
DFM_LABELS = {
    "too_large_for_process": _l(
        "The part measures %(size)s mm; %(process)s takes parts up to %(limit)s mm."
    ),
    "thin_walls": _l(
        "Walls as thin as %(thickness)s mm; %(process)s needs at least %(minimum)s mm."
    ),
    "small_features": _l(
        "Details as small as %(size)s mm (narrow slots, small holes or thin edges); %(process)s makes details down to %(minimum)s mm."
    ),
    "walls_too_thick": _l(
        "Most of this part is thicker than %(maximum)s mm; %(process)s makes parts from %(minimum)s to %(maximum)s mm thick."
    ),
    "not_watertight": _l(
        "The model is not closed (it has holes or loose faces), so its volume is uncertain; an engineer will check it."
    ),
    "self_intersecting": _l(
        "Faces of the model cross each other (overlapping bodies?), so its volume is uncertain; an engineer will check it."
    ),
    "inconsistent_faces": _l(
        "Some faces of the model point the wrong way or lie inside the part, so its volume is uncertain; an engineer will check it."
    ),
    "maybe_inches": _l(
        "The part is only %(size)s mm long — was it drawn in inches? If so, it is %(inches)s mm long."
    ),
    "walls_not_checked": _l(
        "Wall thickness was not checked automatically for this model; an engineer checks it before production."
    ),
}


@dataclass(frozen=True)
class Finding:
    """One piece of manufacturability feedback; `message` is translated when it is rendered."""

    code: str  # a key of DFM_LABELS
    severity: str  # one of SEVERITIES
    message: Any  # lazy: str() it in the reader's request (or under force_locale)
    values: dict[str, Any] = field(default_factory=dict)  # the numbers behind it, for staff

    def to_dict(self) -> dict[str, str]:
        """The JSON the price endpoint returns (message in the current locale)."""
        return {"code": self.code, "severity": self.severity, "message": str(self.message)}


def needs_review(found: list[Finding]) -> bool:
    """A finding of severity "review" sends the part to an engineer."""
    return any(f.severity == "review" for f in found)


def findings(
    geometry: dict[str, Any] | None,
    process_id: str,
    rules: dict[str, Any],
    material: str | None = None,
) -> list[Finding]:
    """What the customer should know about making this part by this process.

    Pure and cheap (it runs on every live reprice): it reads the drawing's stored geometry and
    the rules only. Records from before `measure` existed still get the envelope,
    watertightness and units checks, which need only the geometry's own keys. When the part
    looks drawn in inches, wall and detail sizes are not judged: they would be 25× off. A
    drawing that was not measured (geometry None) has no findings: it is reviewed anyway."""
    geometry = geometry or {}
    rule = rules.get("processes", {}).get(process_id) or {}
    process = _ProcessName(rule.get("name") or {"en": process_id})
    limits = _limits(rule, material)
    size = _size(geometry)
    record = geometry.get("dfm") or {}
    walls = record.get("walls") or {}
    out: list[Finding] = []
    envelope = rule.get("max_size_mm")
    if (
        size
        and envelope
        and any(s > m for s, m in zip(sorted(size), sorted(envelope), strict=True))
    ):
        out.append(
            _finding(
                "too_large_for_process",
                "review",
                process,
                size=size,
                limit=[float(m) for m in envelope],
            )
        )
    if geometry.get("watertight") is False:
        out.append(_finding("not_watertight", "review"))
    crossing = (record.get("self_intersection") or {}).get("crossing_edges") or 0
    if crossing:
        out.append(_finding("self_intersecting", "review", crossing_edges=crossing))
    inconsistent = walls.get("inconsistent_share") or 0
    if inconsistent > INCONSISTENT_SHARE:
        out.append(_finding("inconsistent_faces", "review", share=inconsistent))
    inches = bool(size) and (
        geometry.get("units_hint") == "inch" or 0 < max(size) < SMALLEST_SENSIBLE_MM
    )
    if inches:
        largest = max(size)
        out.append(_finding("maybe_inches", "warning", size=largest, inches=largest * MM_PER_INCH))
    elif walls.get("measured"):
        out.extend(_wall_findings(walls, limits, process))
    elif walls and limits.get("min_wall_mm"):
        out.append(_finding("walls_not_checked", "info", reason=walls.get("reason")))
    return out


def _wall_findings(
    walls: dict[str, Any], limits: dict[str, float], process: _ProcessName
) -> list[Finding]:
    """Thin walls, too-small details and (sheet) too-thick parts from the stored readings."""
    out: list[Finding] = []
    quantiles = walls.get("thickness_mm") or {}
    minimum = limits.get("min_wall_mm")
    thin = quantiles.get(THIN_PERCENTILE)
    thin_walls = minimum is not None and thin is not None and thin < minimum
    if thin_walls:
        severity = "review" if thin < minimum / 2 else "warning"
        out.append(_finding("thin_walls", severity, process, thickness=thin, minimum=minimum))
    feature = limits.get("min_feature_mm")
    if feature is not None:
        small = [g for g in walls.get("narrowest_gaps_mm") or [] if g < feature]
        if not thin_walls:  # thin spots too few to count as thin walls are small details
            small += [t for t in walls.get("thinnest_mm") or [] if t < feature]
        small.sort()
        if len(small) >= SMALL_FEATURE_COUNT:
            size = small[SMALL_FEATURE_COUNT - 1]
            out.append(_finding("small_features", "warning", process, size=size, minimum=feature))
    maximum = limits.get("max_wall_mm")
    median = quantiles.get("p50")
    if maximum is not None and median is not None and median > maximum:
        out.append(
            _finding(
                "walls_too_thick",
                "review",
                process,
                maximum=maximum,
                minimum=minimum or 0.0,
                median=median,
            )
        )
    return out


def _limits(rule: dict[str, Any], material: str | None) -> dict[str, float]:
    """The process's wall and detail limits, or the material's own where it sets them."""
    chosen = (rule.get("materials") or {}).get(material or "") or {}
    out = {}
    for key in ("min_wall_mm", "min_feature_mm", "max_wall_mm"):
        value = chosen.get(key, rule.get(key))
        if value is not None:
            out[key] = float(value)
    return out


def _size(geometry: dict[str, Any]) -> list[float] | None:
    if geometry.get("size"):
        return [float(s) for s in geometry["size"]]
    lo, hi = geometry.get("bbox_min"), geometry.get("bbox_max")
    if lo and hi:
        return [float(b) - float(a) for a, b in zip(lo, hi, strict=True)]
    return None


def _finding(
    code: str, severity: str, process: _ProcessName | None = None, **values: Any
) -> Finding:
    """A finding whose sentence is formatted when read, in the reader's language."""
    label = DFM_LABELS[code]
    shown = {k: _shown(v) for k, v in values.items()}
    if process is not None:
        shown["process"] = process

    def render() -> str:
        return str(label) % shown

    return Finding(code, severity, LazyString(render), values)


class _ProcessName:
    """The process's catalogue name in the language of whoever reads the message."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    def __str__(self) -> str:
        locale = get_locale()
        key = str(locale) if locale is not None else "zh_CN"
        return self.names.get(key) or self.names.get("zh_CN") or next(iter(self.names.values()))


def _shown(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return " × ".join(_mm(v) for v in value)
    if isinstance(value, float | int) and not isinstance(value, bool):
        return _mm(value)
    return value


def _mm(value: float) -> str:
    """0.3, 12, 0.25, 25.4: at most two decimals, no trailing zeros."""
    if not math.isfinite(value):
        return str(value)
    return f"{value:.2f}".rstrip("0").rstrip(".")
