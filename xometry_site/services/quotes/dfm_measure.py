"""What the manufacturability check measures on a mesh, once, when a drawing is analysed.

The record is small and JSON-safe and is stored in the drawing's geometry under "dfm", so
judging a part for a process later (dfm.findings, on every live reprice) needs neither the mesh
nor the database. Thickness and gaps come from rays cast along the surface normals at sampled
points; self-intersection from edges tested against the triangles near them (mesh_rays).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from .mesh_rays import Grid, Mesh, crossing_segments, nearest_along_lines

log = logging.getLogger(__name__)

METHOD = 1  # bump when what `measure` stores changes meaning; findings read older records too
SEED = 20_240_601  # samples are random but fixed: the same file always measures the same
AREA_SAMPLES = 2_000  # points spread by area: the thickness distribution over the surface
DETAIL_SAMPLES = 1_000  # points on as many distinct triangles: small, finely meshed features
REACH_MM = 10.0  # rays look this far each way; thicker walls read "10 mm" (at least)
MAX_TRIANGLES = 200_000  # the most the analysis keeps (PREVIEW_TRIANGLES); beyond, not measured
RAY_BUDGET = 600_000  # ray–triangle tests per part
EDGE_BUDGET = 400_000  # edge–triangle tests per part for the self-intersection check
EDGE_TESTS_GUESS = 8  # tests per edge at the least: how many edges are worth laying out
GRID_FILING = (16, 20_000, 1_500_000)  # grid entries: per triangle, plus, at most
QUANTILES = (1, 2, 5, 10, 25, 50)  # thickness percentiles kept, by share of the surface
SMALLEST_KEPT = 8  # the smallest thickness and gap readings kept
COPLANAR = 1e-9  # 1 - cos of the angle under which two neighbouring triangles count as flat
_K1, _K2, _K3, _K4 = (  # odd 64-bit multipliers (splitmix64 / murmur3) for corner keys
    np.uint64(0x9E3779B97F4A7C15),
    np.uint64(0xC2B2AE3D27D4EB4F),
    np.uint64(0x165667B19E3779F9),
    np.uint64(0xFF51AFD7ED558CCD),
)


def measure_geometry(geometry: Any) -> dict[str, Any]:
    """`measure` on an analysed PartGeometry; a failure is recorded, never raised."""
    triangles = geometry.preview_triangles
    complete = triangles is not None and len(triangles) == (geometry.triangles or 0)
    try:
        return measure(triangles, complete)
    except Exception:  # the price must not depend on this check working
        log.exception("quote.dfm_failed")
        return _not_measured(0, complete, "error")


def measure(triangles: np.ndarray | None, complete: bool) -> dict[str, Any]:
    """Wall thickness, narrow gaps and self-intersection of a mesh, as a JSON-safe record.

    `complete` says whether `triangles` is the whole mesh: a sample has holes that rays would
    fall through, so only a complete mesh is measured."""
    tris = np.asarray(triangles if triangles is not None else [], np.float64).reshape(-1, 3, 3)
    tris = tris[np.all(np.isfinite(tris), axis=(1, 2))]
    if not complete:
        return _not_measured(len(tris), complete, "sampled_mesh")
    if len(tris) > MAX_TRIANGLES:
        return _not_measured(len(tris), complete, "too_many_triangles")
    mesh = Mesh(tris)
    mesh_keep = mesh.area > 0
    if not mesh_keep.any():
        return _not_measured(len(tris), complete, "no_triangles")
    if not mesh_keep.all():
        tris = tris[mesh_keep]
        mesh = Mesh(tris)
    diagonal = float(np.linalg.norm(mesh.hi.max(axis=0) - mesh.lo.min(axis=0)))
    reach = min(REACH_MM, diagonal)
    per_triangle, plus, most = GRID_FILING  # past it the grid grows coarser
    grid = Grid.build(mesh, 2 * reach, min(per_triangle * len(mesh) + plus, most))
    return {
        "method": METHOD,
        "triangles": len(mesh),
        "complete": complete,
        "walls": _walls(mesh, grid, tris, reach, diagonal),
        "self_intersection": _self_intersection(mesh, grid, tris),
    }


def _not_measured(count: int, complete: bool, reason: str) -> dict[str, Any]:
    return {
        "method": METHOD,
        "triangles": count,
        "complete": complete,
        "walls": {"measured": False, "reason": reason},
        "self_intersection": {"checked": "no", "reason": reason, "crossing_edges": 0},
    }


def _walls(
    mesh: Mesh, grid: Grid, tris: np.ndarray, reach: float, diagonal: float
) -> dict[str, Any]:
    """Thickness (inward ray) and gap (outward ray) at sampled surface points.

    Each point casts one line along its triangle's normal: the nearest surface ahead, inside
    the material, is the wall's other side; the nearest behind, across air, is the far side of
    a slot, hole or gap. A reading whose nearest surface faces the wrong way (flipped faces,
    overlapping bodies) is not counted."""
    rng = np.random.default_rng(SEED)
    by_area = rng.choice(len(mesh), AREA_SAMPLES, p=mesh.area / mesh.area.sum())
    detail = rng.choice(len(mesh), min(DETAIL_SAMPLES, len(mesh)), replace=False)
    which = np.concatenate([by_area, detail])
    a, b = rng.random((2, len(which)))
    fold = a + b > 1  # uniform over the triangle
    a[fold], b[fold] = 1 - a[fold], 1 - b[fold]
    t = tris[which]
    points = t[:, 0] + a[:, None] * (t[:, 1] - t[:, 0]) + b[:, None] * (t[:, 2] - t[:, 0])
    outward = mesh.normal[which] / (2 * mesh.area[which, None])
    inside_out = _signed_volume(tris) < 0  # wound inside out: normals point into the material
    if inside_out:
        outward = -outward
    seen, cast, tests = nearest_along_lines(
        mesh,
        grid,
        points,
        -outward,
        reach,
        which,
        RAY_BUDGET,
        tolerance=1e-6 * diagonal,
        inside_out=inside_out,
    )
    area_cast = min(cast, AREA_SAMPLES)
    detail_cast = max(cast - AREA_SAMPLES, 0)
    thickness = np.where(seen["ahead_exit"] == seen["ahead"], seen["ahead"], np.nan)
    thickness = np.minimum(thickness, reach)  # nothing ahead within reach: at least `reach`
    gap = np.where(seen["behind_facing"] == seen["behind"], seen["behind"], np.nan)
    by_area_thickness = thickness[:area_cast]
    consistent = by_area_thickness[np.isfinite(by_area_thickness)]
    record: dict[str, Any] = {
        "measured": True,
        "samples": cast,
        "tests": tests,
        "area_samples": area_cast,
        "detail_samples": detail_cast,
        "consistent": len(consistent),
        "inconsistent_share": _round(1 - len(consistent) / area_cast) if area_cast else None,
        "reach_mm": _round(reach),
        "thickness_mm": None,
        "thinnest_mm": _smallest(thickness),
        "narrowest_gaps_mm": _smallest(gap),
    }
    if len(consistent):
        record["thickness_mm"] = {
            "min": _round(consistent.min()),
            **{f"p{q}": _round(np.percentile(consistent, q)) for q in QUANTILES},
        }
    if cast < len(which):
        record["reason"] = "budget"  # fewer rays than planned: the mesh is dense here
    return record


def _self_intersection(mesh: Mesh, grid: Grid, tris: np.ndarray) -> dict[str, Any]:
    """Edges that pass through another triangle's face (not a neighbour's): a bounded check.

    Two flat regions that cross meet along a segment that ends on the border of one of them,
    so an edge between two coplanar triangles never needs testing: only feature edges (between
    faces at an angle), open edges and edges shared by more than two triangles are. Those are
    all tested while the tests fit EDGE_BUDGET; past that, a fixed random share ("sampled").
    Faces that overlap in one plane are not detected."""
    corner = _corner_keys(tris)
    first = corner.ravel()
    second = corner[:, [1, 2, 0]].ravel()
    low, high = np.minimum(first, second), np.maximum(first, second)
    with np.errstate(over="ignore"):
        key = low * _K4 ^ high
    order = np.argsort(key)
    key = key[order]
    starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    counts = np.diff(np.append(starts, len(key)))
    unit = mesh.normal / (2 * mesh.area[:, None])
    pair = starts[counts == 2]
    a, b = order[pair] // 3, order[pair + 1] // 3
    flat = np.einsum("ij,ij->i", unit[a], unit[b]) > 1 - COPLANAR
    test = np.ones(len(starts), bool)
    test[np.flatnonzero(counts == 2)[flat]] = False
    edge = order[starts[test]]
    features = len(edge)
    # a fixed random order; more edges than the budget can test are not even laid out
    edge = np.random.default_rng(SEED).permutation(edge)[: EDGE_BUDGET // EDGE_TESTS_GUESS]
    tri, side = np.divmod(edge, 3)
    hits, checked, tests = crossing_segments(
        mesh,
        grid,
        tris[tri, side],
        tris[tri, (side + 1) % 3],
        corner,
        (first[edge], second[edge]),
        EDGE_BUDGET,
    )
    return {
        "checked": "all" if checked == features else "sampled",
        "edges": len(starts),
        "feature_edges": features,
        "edges_checked": checked,
        "tests": tests,
        "crossing_edges": len(hits),
    }


def _corner_keys(tris: np.ndarray) -> np.ndarray:
    """(n, 3) 64-bit keys of the corners, equal where the coordinates are equal as float32.

    A hash: two distinct corners share a key with probability ~n²/2⁶⁴, which at worst skips
    one edge–triangle test."""
    bits = (tris.astype(np.float32) + 0).view(np.uint32).astype(np.uint64)  # + 0: -0.0 is 0.0
    key = bits[..., 0] * _K1 ^ bits[..., 1] * _K2 ^ bits[..., 2] * _K3
    key ^= key >> np.uint64(31)
    key *= _K4
    return key ^ (key >> np.uint64(29))


def _signed_volume(tris: np.ndarray) -> float:
    o = tris[:, 0] - tris[0, 0]
    return float(
        np.einsum("ij,ij->i", o, np.cross(tris[:, 1] - tris[0, 0], tris[:, 2] - tris[0, 0])).sum()
    )


def _smallest(values: np.ndarray) -> list[float]:
    finite = np.sort(values[np.isfinite(values)])[:SMALLEST_KEPT]
    return [_round(v) for v in finite]


def _round(value: float) -> float:
    return round(float(value), 4)
