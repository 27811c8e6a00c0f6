"""What a stream of triangles adds up to (volume, area, bounds, watertightness), kept apart from how STL is read."""

from __future__ import annotations

import numpy as np

from .geometry import GeometryError, PartGeometry, units_hint

# Watertightness keeps 24 bytes per triangle (three 64-bit edge keys): above this many
# triangles it is not computed and reported as None (120 MB of keys at the limit).
WATERTIGHT_MAX_TRIANGLES = 5_000_000
# Hash constants (odd 64-bit multipliers from splitmix64 / murmur3 finalisers).
_K1, _K2, _K3 = (
    np.uint64(0x9E3779B97F4A7C15),
    np.uint64(0xC2B2AE3D27D4EB4F),
    np.uint64(0x165667B19E3779F9),
)
_K4, _K5 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)
_S29, _S32 = np.uint64(29), np.uint64(32)


class Totals:
    """Running volume, area, bounding box and edge keys over blocks of triangles."""

    def __init__(self, check_watertight: bool, expected: int | None) -> None:
        self.count = 0
        self.degenerate = 0
        self.area2 = 0.0  # twice the area
        self.volume6 = 0.0  # six times the signed volume
        self.lo = np.full(3, np.inf)
        self.hi = np.full(3, -np.inf)
        self.origin: np.ndarray | None = None
        self.check_watertight = check_watertight
        self._keys: list[np.ndarray] = []
        self._key_array: np.ndarray | None = None
        self._key_fill = 0
        if check_watertight and expected and expected <= WATERTIGHT_MAX_TRIANGLES:
            # one exact allocation; np.empty only reserves address space, so a lying header
            # in a small file costs no memory until keys are actually written
            self._key_array = np.empty(3 * expected, np.uint64)

    @np.errstate(over="ignore", invalid="ignore")  # inf/nan are caught once, in result()
    def add(self, p: np.ndarray) -> None:
        """Fold in a (9, k) block of vertex coordinates."""
        k = p.shape[1]
        if k == 0:
            return
        if self.origin is None:  # volume relative to a vertex of the part: less cancellation
            self.origin = p[0:3, :1].copy()
        e = p[3:9].reshape(2, 3, k) - p[0:3]
        e1, e2 = e[0], e[1]
        cx = e1[1] * e2[2] - e1[2] * e2[1]
        cy = e1[2] * e2[0] - e1[0] * e2[2]
        cz = e1[0] * e2[1] - e1[1] * e2[0]
        norm = np.sqrt(cx * cx + cy * cy + cz * cz)
        self.area2 += float(norm.sum(dtype=np.float64))
        self.degenerate += k - int(np.count_nonzero(norm))
        o = p[0:3] - self.origin
        self.volume6 += float((o[0] * cx + o[1] * cy + o[2] * cz).sum(dtype=np.float64))
        q = p.reshape(3, 3, k)
        self.lo = np.minimum(self.lo, q.min(axis=(0, 2)))
        self.hi = np.maximum(self.hi, q.max(axis=(0, 2)))
        self.count += k
        if self.check_watertight:
            self._add_edges(p, collapsed=k != int(np.count_nonzero(norm)))

    def _add_edges(self, p: np.ndarray, collapsed: bool) -> None:
        if self.count > WATERTIGHT_MAX_TRIANGLES:
            self.check_watertight = False
            self._keys, self._key_array = [], None
            return
        keys = edge_keys(p, collapsed)
        if self._key_array is not None and self._key_fill + keys.size <= self._key_array.size:
            self._key_array[self._key_fill : self._key_fill + keys.size] = keys
            self._key_fill += keys.size
        else:
            if self._key_array is not None:  # more triangles than the header declared
                self._keys.append(self._key_array[: self._key_fill])
                self._key_array = None
            self._keys.append(keys)

    def watertight(self) -> bool | None:
        """Every edge shared by exactly two triangles (None when not computed)."""
        if not self.check_watertight:
            return None
        if self._key_array is not None:
            keys = self._key_array[: self._key_fill]
        else:
            keys = np.concatenate(self._keys) if self._keys else np.empty(0, np.uint64)
            self._keys = []
        self._key_array = None
        if keys.size == 0 or keys.size % 2:
            return False
        keys.sort()
        pairs = keys.reshape(-1, 2)
        # sorted keys in equal pairs, with no key in two neighbouring pairs → each count is 2
        return bool(np.all(pairs[:, 0] == pairs[:, 1]) and np.all(pairs[1:, 0] != pairs[:-1, 1]))

    def result(self, fmt: str) -> PartGeometry:
        if self.count == 0:
            raise GeometryError("empty", "no triangles")
        if not (np.all(np.isfinite(self.lo)) and np.all(np.isfinite(self.hi))):
            raise GeometryError("malformed", "coordinates are not finite numbers")
        if not (np.isfinite(self.area2) and np.isfinite(self.volume6)):
            raise GeometryError("malformed", "coordinates too large")
        if self.degenerate == self.count:
            raise GeometryError("degenerate", "every triangle has zero area")
        lo, hi = tuple(float(x) for x in self.lo), tuple(float(x) for x in self.hi)
        size = [b - a for a, b in zip(lo, hi, strict=True)]
        volume = abs(self.volume6) / 6.0
        diagonal = float(np.sqrt(sum(s * s for s in size)))
        if volume <= 1e-9 * diagonal**3 or min(size) <= 0:
            raise GeometryError("degenerate", "the part encloses no volume")
        return PartGeometry(
            format=fmt,
            volume_mm3=volume,
            area_mm2=self.area2 / 2.0,
            bbox_min=lo,  # type: ignore[arg-type]
            bbox_max=hi,  # type: ignore[arg-type]
            triangles=self.count,
            watertight=self.watertight(),
            units_hint=units_hint(size),
        )


def edge_keys(p: np.ndarray, collapsed: bool) -> np.ndarray:
    """64-bit keys of the three undirected edges of each triangle, vertices matched exactly.

    Vertices are quantised to float32 (the precision of binary STL) and hashed from their bits;
    a hash collision between distinct edges has probability ~n²/2⁶⁴, negligible at our limits.
    When `collapsed`, triangles with two coincident corners are left out: they are collapsed
    slivers, not holes.
    """
    k = p.shape[1]
    bits = np.add(p, 0, dtype=np.float32).view(np.uint32)  # + 0 folds -0.0 into 0.0
    u = bits.astype(np.uint64).reshape(3, 3, k)
    h = u[:, 0] * _K1
    t = u[:, 1] * _K2
    h ^= t
    np.multiply(u[:, 2], _K3, out=t)
    h ^= t
    np.right_shift(h, _S29, out=t)
    h ^= t
    h *= _K4
    np.right_shift(h, _S32, out=t)
    h ^= t
    c = h[[1, 2, 0]]
    keep = np.all(h != c, axis=0) if collapsed else None
    hi = np.maximum(h, c)
    lo = np.minimum(h, c, out=h)
    np.right_shift(hi, _S29, out=c)
    hi ^= c
    lo *= _K5
    lo += hi
    return lo.ravel() if keep is None else lo[:, keep].ravel()
