"""A whole mesh too large for the 3D viewer, simplified as it streams past: vertex clustering.

The preview keeps a random sample of a large STL's triangles, which its renderer enlarges to
close the gaps; shown in 3D the same sample would be full of holes. So while the STL streams,
`VertexClusters` snaps every corner to a grid of cubes 2**level mm wide: the corners in one cube
become one vertex at their mean, and a triangle with two corners in one cube disappears. What is
left covers the whole surface, closed where the drawing was, with detail down to the cube's size.
Whenever more than `limit` distinct triangles remain, the cubes double (level + 1), which merges
the cubes and triangles already kept exactly as if the finer grid had never been used: memory stays
bounded whatever the size of the file, and the result is the clustering of every triangle on the
final grid (the finest, from the first block's size on, that leaves at most `limit`).
"""

from __future__ import annotations

import math

import numpy as np

AXIS_BITS = 21  # a cube's index along one axis, offset to be positive, in a packed int64 key
AXIS_SPAN = 1 << (AXIS_BITS - 1)
FIRST_CUBES = 1 << 12  # the first grid has this many cubes along the first block's longest side
_MASK = np.int64((1 << AXIS_BITS) - 1)


class VertexClusters:
    """A TriangleSink that keeps at most `limit` triangles of a simplified copy of the mesh."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.level: int | None = None
        self.count = 0  # triangles seen
        # distinct cubes (sorted keys) with the sum and number of the corners that fell in each
        self._cubes = np.empty(0, np.int64)
        self._sums = np.empty((0, 3), np.float64)
        self._counts = np.empty(0, np.int64)
        self._triangles = np.empty((0, 3), np.int64)  # distinct, as cube keys
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []  # (corner keys, corners)
        self._pending_triangles = 0

    def begin(self, expected: int | None) -> None:
        """Nothing to prepare: the grid is chosen from the first block."""

    def add(self, planes: np.ndarray) -> None:
        """Cluster a (9, k) block of triangles (its rows x0 y0 z0 … z2; copied, not kept)."""
        corners = planes.T.reshape(-1, 3, 3).astype(np.float64)
        self.count += len(corners)
        corners = corners[np.all(np.isfinite(corners), axis=(1, 2))].reshape(-1, 3)
        if not len(corners):
            return
        if self.level is None:
            extent = float(np.ptp(corners, axis=0).max())
            self.level = math.floor(math.log2(extent / FIRST_CUBES)) if extent > 0 else 0
        while np.abs(np.floor(corners / 2.0**self.level)).max() >= AXIS_SPAN:
            self._coarsen()  # a part larger than the grid can index at this level
        keys = _pack(np.floor(corners / 2.0**self.level).astype(np.int64))
        self._pending.append((keys, corners))
        self._pending_triangles += len(keys) // 3
        if self._pending_triangles > self.limit:
            self._merge()

    def triangles(self) -> np.ndarray:
        """(n, 3, 3) float32: each triangle's corners at the means of their cubes."""
        self._merge()
        if not len(self._triangles):
            return np.empty((0, 3, 3), np.float32)
        means = self._sums / self._counts[:, None]
        at = np.searchsorted(self._cubes, self._triangles)
        return means[at].astype(np.float32)

    def _merge(self) -> None:
        """Fold the pending blocks into the kept cubes and triangles; coarsen while too many."""
        if self._pending:
            keys = np.concatenate([k for k, _ in self._pending])
            corners = np.concatenate([c for _, c in self._pending])
            self._pending, self._pending_triangles = [], 0
            self._add_cubes(keys, corners, np.ones(len(keys), np.int64))
            self._triangles = self._distinct(np.concatenate([self._triangles, keys.reshape(-1, 3)]))
        while len(self._triangles) > self.limit:
            self._coarsen()

    def _add_cubes(self, keys: np.ndarray, sums: np.ndarray, counts: np.ndarray) -> None:
        cubes, inverse = _sorted_unique(np.concatenate([self._cubes, keys]))
        sums = np.concatenate([self._sums, sums])
        self._sums = np.stack(
            [np.bincount(inverse, sums[:, axis], len(cubes)) for axis in range(3)], axis=1
        )
        self._counts = np.bincount(
            inverse, np.concatenate([self._counts, counts]), len(cubes)
        ).astype(np.int64)
        self._cubes = cubes

    def _coarsen(self) -> None:
        """Double the cubes: eight become one, and so do the triangles that now coincide."""
        self.level = (self.level or 0) + 1
        cubes, sums, counts = _halve(self._cubes), self._sums, self._counts
        self._cubes = np.empty(0, np.int64)
        self._sums = np.empty((0, 3), np.float64)
        self._counts = np.empty(0, np.int64)
        self._add_cubes(cubes, sums, counts)
        self._triangles = self._distinct(_halve(self._triangles))
        self._pending = [(_halve(k), c) for k, c in self._pending]

    def _distinct(self, triangles: np.ndarray) -> np.ndarray:
        """Triangles of three different cubes, each once, turned to start at their least key
        (which keeps their winding). Its cubes are in `_cubes`, so each triangle packs into one
        int64 of three cube numbers, and a plain sort finds the repeats."""
        a, b, c = triangles[:, 0], triangles[:, 1], triangles[:, 2]
        triangles = triangles[(a != b) & (b != c) & (a != c)]
        if not len(triangles):
            return triangles.reshape(0, 3)
        first = np.argmin(triangles, axis=1)
        triangles = np.take_along_axis(triangles, (first[:, None] + np.arange(3)) % 3, axis=1)
        if len(self._cubes) > _MASK:  # more cubes than 21 bits can number: the slow way
            return np.unique(triangles, axis=0)
        number = np.searchsorted(self._cubes, triangles)
        packed = (number[:, 0] << (2 * AXIS_BITS)) | (number[:, 1] << AXIS_BITS) | number[:, 2]
        packed, _ = _sorted_unique(packed)
        return self._cubes[
            np.stack(
                [packed >> (2 * AXIS_BITS), (packed >> AXIS_BITS) & _MASK, packed & _MASK], axis=1
            )
        ]


def _pack(cube: np.ndarray) -> np.ndarray:
    """(n, 3) cube indices → one int64 key each (21 bits per axis, offset to be positive)."""
    cube = cube + AXIS_SPAN
    return (cube[:, 0] << (2 * AXIS_BITS)) | (cube[:, 1] << AXIS_BITS) | cube[:, 2]


def _halve(keys: np.ndarray) -> np.ndarray:
    """The keys of the cubes twice as wide that hold these (floor division of each index)."""
    shape = keys.shape
    flat = keys.reshape(-1)
    cube = np.stack(
        [(flat >> (2 * AXIS_BITS)) & _MASK, (flat >> AXIS_BITS) & _MASK, flat & _MASK], axis=1
    )
    return _pack((cube - AXIS_SPAN) >> 1).reshape(shape)


def _sorted_unique(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct keys in order, and where each key went (np.unique's answer, by one sort:
    numpy's hashing path for integers was ten times slower on these arrays)."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    new = np.empty(len(keys), bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    inverse = np.empty(len(keys), np.int64)
    inverse[order] = np.cumsum(new) - 1
    return ordered[new], inverse
