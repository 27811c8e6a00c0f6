"""Geometry of uploaded CAD parts: what a measurement yields, its refusals, and the entry by format.

Drawings are stored encrypted and never written to disk in plaintext, so every analysis here
reads an iterator of decrypted chunks: STL is parsed in fixed-size blocks (constant memory apart
from the watertightness edge table), STEP/IGES go to OpenCascade in a child process through an
in-memory file (memfd). Failures raise `GeometryError(reason_code)`; the quote then goes to an
engineer with that reason instead of failing the request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from flask_babel import lazy_gettext as _l

SMALLEST_SENSIBLE_MM = 5.0  # below this the part was probably drawn in inches (see units_hint)
ANALYSABLE_FORMATS = {"stl": "stl", "step": "step", "stp": "step", "iges": "iges", "igs": "iges"}
# Formats we accept for quoting but cannot measure: an engineer reads them.
REVIEW_FORMATS = frozenset({"dwg", "dxf", "pdf", "sldprt", "sldasm", "x_t", "x_b", "ipt", "prt"})
REASON_LABELS = {
    "empty": _l("The file is empty."),
    "truncated": _l("The file is cut short; please upload it again."),
    "malformed": _l("The file is not a valid STL."),
    "degenerate": _l("The model encloses no volume (it is flat or has no solid faces)."),
    "unreadable": _l("The CAD file could not be read."),
    "timeout": _l("The CAD file took too long to analyse."),
    "too_complex": _l("The CAD file is too complex to analyse automatically."),
    "unsupported_format": _l("This file format is not analysed automatically."),
}


class GeometryError(Exception):
    """A drawing we could not measure; `reason_code` is a key the UI translates."""

    def __init__(self, reason_code: str, message: str = "") -> None:
        super().__init__(f"{reason_code}: {message}" if message else reason_code)
        self.reason_code = reason_code
        self.message = message


@dataclass
class PartGeometry:
    """What pricing and the quote page need to know about one part, in millimetres."""

    format: str
    volume_mm3: float
    area_mm2: float
    bbox_min: tuple[float, float, float]
    bbox_max: tuple[float, float, float]
    triangles: int | None = None
    faces: int | None = None
    solids: int | None = None
    watertight: bool | None = None
    units_hint: str | None = None
    preview_triangles: np.ndarray | None = field(default=None, repr=False, compare=False)
    # the whole part for the 3D viewer: the preview's triangles when they are all of them, else a
    # simplified copy (mesh_clusters.py), or None when the reader could make neither
    viewer_triangles: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def size(self) -> tuple[float, float, float]:
        """Extent along x, y, z."""
        return tuple(hi - lo for lo, hi in zip(self.bbox_min, self.bbox_max, strict=True))  # type: ignore[return-value]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for the quote record (the preview and viewer meshes are not stored)."""
        return {
            "format": self.format,
            "volume_mm3": self.volume_mm3,
            "area_mm2": self.area_mm2,
            "bbox_min": list(self.bbox_min),
            "bbox_max": list(self.bbox_max),
            "size": list(self.size),
            "triangles": self.triangles,
            "faces": self.faces,
            "solids": self.solids,
            "watertight": self.watertight,
            "units_hint": self.units_hint,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PartGeometry:
        """Inverse of to_dict; ignores derived and unknown keys so old records still load."""
        return cls(
            format=data["format"],
            volume_mm3=float(data["volume_mm3"]),
            area_mm2=float(data["area_mm2"]),
            bbox_min=tuple(float(x) for x in data["bbox_min"]),  # type: ignore[arg-type]
            bbox_max=tuple(float(x) for x in data["bbox_max"]),  # type: ignore[arg-type]
            triangles=data.get("triangles"),
            faces=data.get("faces"),
            solids=data.get("solids"),
            watertight=data.get("watertight"),
            units_hint=data.get("units_hint"),
        )


class TriangleSink(Protocol):
    """Receives every block of triangles while an STL streams past (the preview sampler)."""

    def begin(self, expected: int | None) -> None: ...

    def add(self, planes: np.ndarray) -> None:
        """`planes` is (9, k): x0 y0 z0 x1 y1 z1 x2 y2 z2 rows; only valid during the call."""


def drawing_format(filename: str) -> str:
    """Lower-case extension of an upload's name ("x_t", "step", ...), "" if none."""
    suffix = Path(filename).suffix.lower()
    return suffix[1:] if suffix else ""


def analyze_drawing(
    filename: str, chunks: Iterable[bytes], sink: TriangleSink | None = None
) -> PartGeometry:
    """Measure a drawing by its extension; formats we cannot read raise "unsupported_format"."""
    from .step_reader import analyze_step  # the readers import this module's types
    from .stl_reader import analyze_stl

    kind = ANALYSABLE_FORMATS.get(drawing_format(filename))
    if kind == "stl":
        return analyze_stl(chunks, sink=sink)
    if kind in ("step", "iges"):
        return analyze_step(chunks, kind=kind)
    raise GeometryError("unsupported_format", drawing_format(filename) or filename)


def units_hint(size: Iterable[float]) -> str | None:
    """ "inch" when the largest extent is so small the part was probably drawn in inches."""
    largest = max(size)
    return "inch" if 0 < largest < SMALLEST_SENSIBLE_MM else None
