"""Line and segment queries against a triangle mesh in numpy, pruned by a uniform grid.

Only what the manufacturability check needs: the nearest surface on either side of a point along
a line (wall thickness one way, the gap across air the other) and edges that pierce other
triangles (self-intersection). Work is counted in triangle tests so callers can bound it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_STEPS = 32  # grid cells a query line may cross: bounds the cell size from below
SUBSTEPS = 2  # query points per cell length; triangles are filed with a margin of half a step
LARGE_SPAN = 512  # a triangle covering more cells is paired with queries by bounding boxes
LARGE_COST = 64  # filing entries one such triangle is counted as, when sizing the grid
LARGE_BATCH = 1 << 20  # query × large-triangle box tests per numpy batch
GRID_GROWTH = 1.5
# The grid starts this many cells (an irrational share) below the part: CAD coordinates and
# triangle sizes are often round numbers, and corners lying on cell walls would be filed twice.
GRID_OFFSET = 0.381966
SEGMENT_POINTS = 250_000  # points laid out along segments at most: long edges cost points
CHUNK_PAIRS = 131_072  # triangle tests per numpy batch: bounds temporary memory (~25 MB)


class Mesh:
    """Triangles packed as the tests read them: corner, two edges and winding normal, as rows."""

    def __init__(self, triangles: np.ndarray) -> None:
        t = np.asarray(triangles, dtype=np.float64).reshape(-1, 3, 3)
        e1, e2 = t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]
        normal = np.stack(_cross(e1.T, e2.T), axis=1)  # length = twice the area
        # (9, n): x y z of the first corner, of e1 and of e2; float32 for the many ray tests
        self.rows = np.ascontiguousarray(np.concatenate([t[:, 0], e1, e2], axis=1).T)
        self.rows32 = self.rows.astype(np.float32)
        # (4, n): the plane of each triangle, normal · x = offset
        self.planes = np.ascontiguousarray(
            np.concatenate([normal, np.einsum("ij,ij->i", normal, t[:, 0])[:, None]], axis=1).T
        )
        self.lo = t.min(axis=1)
        self.hi = t.max(axis=1)
        self.normal = normal
        self.area = np.sqrt(np.einsum("ij,ij->i", normal, normal)) / 2

    def __len__(self) -> int:
        return self.rows.shape[1]


@dataclass
class Grid:
    """Triangles filed under every cell of side `h` their box, grown by `margin`, touches.

    Queries are sampled every `step` = 2·margin along their length, so any point of a query
    lies within `margin` of a sampled point, and the cells of the sampled points hold every
    triangle the query can meet. Triangles covering more than LARGE_SPAN cells are kept aside
    in `large` and paired with the queries whose bounding box meets theirs instead."""

    origin: np.ndarray
    h: float
    step: float
    dims: np.ndarray
    keys: np.ndarray  # sorted distinct cell keys
    starts: np.ndarray  # where each key's triangles start in `members`
    counts: np.ndarray
    members: np.ndarray
    large: np.ndarray

    @classmethod
    def build(cls, mesh: Mesh, length: float, budget: int) -> Grid:
        """A grid whose filing (plus the large triangles) costs about `budget` entries or less.

        The cell starts at the median triangle size (a few triangles per cell) and grows until
        the filing fits; it is never so small that a query of `length` crosses more than
        MAX_STEPS cells."""
        low = mesh.lo.min(axis=0)
        extent = float(np.max(mesh.hi.max(axis=0) - low)) or 1.0
        # a triangle's size is the middle side of its box: long slivers (the walls of holes in
        # CAD exports) are thin, and taking their length would crowd every cell
        sizes = np.sort(mesh.hi - mesh.lo, axis=1)[:, 1]
        h = max(float(np.median(sizes)), length / MAX_STEPS, extent / 2048)
        while True:
            origin = low - GRID_OFFSET * h
            extent_cells = (extent + h) / h
            dims = np.full(3, max(int(np.ceil(extent_cells)), 1), np.int64)
            margin = h / SUBSTEPS / 2
            first = _cell(mesh.lo - margin, origin, h, dims)
            span = _cell(mesh.hi + margin, origin, h, dims) - first + 1
            cells = span.prod(axis=1)
            large = cells > LARGE_SPAN
            cost = int(cells[~large].sum()) + int(large.sum()) * LARGE_COST
            if cost <= budget or h >= extent:
                break
            h *= GRID_GROWTH
        small = np.flatnonzero(~large)
        per = cells[small]
        owner = np.repeat(small, per)
        r = np.arange(len(owner)) - np.repeat(np.cumsum(per) - per, per)
        sy, sz = span[owner, 1], span[owner, 2]
        iz = first[owner, 2] + r % sz
        r //= sz
        iy = first[owner, 1] + r % sy
        ix = first[owner, 0] + r // sy
        key = _key(ix, iy, iz, dims)
        order = np.argsort(key)
        key, members = key[order], owner[order]
        starts = np.flatnonzero(np.diff(key, prepend=-1)) if len(key) else np.empty(0, np.int64)
        counts = np.diff(np.append(starts, len(key)))
        step = h / SUBSTEPS
        return cls(
            origin, h, step, dims, key[starts], starts, counts, members, np.flatnonzero(large)
        )

    def pairs(
        self, mesh: Mesh, points: np.ndarray, owner: np.ndarray, queries: int, budget: int
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """(query, triangle) pairs to test for queries 0..queries-1, sampled at `points`.

        `owner` (sorted, every query present) names each point's query. Large triangles are
        paired with the queries whose box meets theirs. Only the first queries whose pairs fit
        `budget` are kept; returns the pairs and how many queries that is. A triangle met in
        several cells of one query comes once per cell: harmless, the nearest hit is the same."""
        idx = _cell(points, self.origin, self.h, self.dims)
        key = _key(idx[:, 0], idx[:, 1], idx[:, 2], self.dims)
        fresh = np.ones(len(key), bool)  # a query's next point still in the same cell adds nothing
        fresh[1:] = (key[1:] != key[:-1]) | (owner[1:] != owner[:-1])
        key, cell_owner = key[fresh], owner[fresh]
        if len(self.keys):
            pos = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
            found = self.keys[pos] == key
            pos, cell_owner = pos[found], cell_owner[found]
        else:
            pos, cell_owner = cell_owner[:0], cell_owner[:0]
        per = self.counts[pos]
        cost = np.bincount(cell_owner, weights=per, minlength=queries)
        large_owner, large_tri = self._large_pairs(mesh, points, owner, queries)
        cost += np.bincount(large_owner, minlength=queries)
        kept = int(np.searchsorted(np.cumsum(cost), budget, side="right"))
        within = cell_owner < kept
        pos, cell_owner, per = pos[within], cell_owner[within], per[within]
        pair_owner = np.repeat(cell_owner, per)
        r = np.arange(len(pair_owner)) - np.repeat(np.cumsum(per) - per, per)
        pair_tri = self.members[np.repeat(self.starts[pos], per) + r]
        within = large_owner < kept
        pair_owner = np.concatenate([pair_owner, large_owner[within]])
        pair_tri = np.concatenate([pair_tri, large_tri[within]])
        return pair_owner, pair_tri, kept

    def _large_pairs(
        self, mesh: Mesh, points: np.ndarray, owner: np.ndarray, queries: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Queries and the large triangles whose bounding box meets theirs."""
        if not len(self.large) or not queries:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        first = np.flatnonzero(np.concatenate([[True], owner[1:] != owner[:-1]]))
        q_lo = np.minimum.reduceat(points, first, axis=0)
        q_hi = np.maximum.reduceat(points, first, axis=0)
        t_lo, t_hi = mesh.lo[self.large], mesh.hi[self.large]
        found_q, found_t = [], []
        rows = max(1, LARGE_BATCH // len(self.large))
        for start in range(0, queries, rows):
            lo, hi = q_lo[start : start + rows, None, :], q_hi[start : start + rows, None, :]
            meets = np.all((lo <= t_hi[None]) & (hi >= t_lo[None]), axis=2)
            q, t = np.nonzero(meets)
            found_q.append(q + start)
            found_t.append(self.large[t])
        return np.concatenate(found_q), np.concatenate(found_t)


def nearest_along_lines(
    mesh: Mesh,
    grid: Grid,
    origins: np.ndarray,
    directions: np.ndarray,
    reach: float,
    skip: np.ndarray,
    budget: int,
    tolerance: float,
    inside_out: bool = False,
) -> tuple[dict[str, np.ndarray], int, int]:
    """Nearest triangle crossings on each side of each origin along its unit direction.

    For the lines o + s·d, |s| ≤ reach, not counting the triangle `skip[i]` the origin lies on
    nor crossings closer than `tolerance`, returns per line the distance to the nearest crossing
    ahead (s > 0) and behind (s < 0), once over all triangles ("ahead", "behind") and once over
    the triangles whose winding normal points along d ("ahead_exit", "behind_facing"): on a
    consistently wound closed mesh the nearest crossing ahead of an inward line leaves the
    material, and the nearest behind it faces back (`inside_out`: the winding normals of this
    mesh point into the material, so "along d" reads "against d"). Infinite where nothing is met. Only the
    first lines that fit `budget` triangle tests are cast; then come how many, and the tests."""
    queries = len(origins)
    steps = max(int(np.ceil(2 * reach / grid.step)), 1)
    s = np.linspace(-reach, reach, steps + 1)
    points = (origins[:, None, :] + s[None, :, None] * directions[:, None, :]).reshape(-1, 3)
    owner = np.repeat(np.arange(queries), steps + 1)
    pair_owner, pair_tri, kept = grid.pairs(mesh, points, owner, queries, budget)
    origins32, directions32 = origins.astype(np.float32), directions.astype(np.float32)
    out = {k: np.full(kept, np.inf) for k in ("ahead", "behind", "ahead_exit", "behind_facing")}
    for start in range(0, len(pair_owner), CHUNK_PAIRS):
        q = pair_owner[start : start + CHUNK_PAIRS]
        tri = pair_tri[start : start + CHUNK_PAIRS]
        t, det = _crossings(mesh.rows32, tri, origins32, directions32, q)
        t[tri == skip[q]] = np.nan
        exit_ = (det > 0) if inside_out else (det < 0)  # det = -d·normal
        ahead = (t > tolerance) & (t <= reach)
        behind = (t < -tolerance) & (t >= -reach)
        _nearest(out["ahead"], q, t, ahead)
        _nearest(out["ahead_exit"], q, t, ahead & exit_)
        _nearest(out["behind"], q, -t, behind)
        _nearest(out["behind_facing"], q, -t, behind & exit_)
    return out, kept, len(pair_owner)


def crossing_segments(
    mesh: Mesh,
    grid: Grid,
    starts: np.ndarray,
    ends: np.ndarray,
    corner_ids: np.ndarray,
    end_ids: tuple[np.ndarray, np.ndarray],
    budget: int,
    tolerance: float = 1e-7,
) -> tuple[np.ndarray, int, int]:
    """Which segments pass through the inside of a triangle they share no corner with.

    `corner_ids` (n, 3) names each triangle's corners, `end_ids` each segment's two ends, so
    neighbours across a shared corner or edge are not counted. Crossings within `tolerance`
    (as a fraction of the segment, and in barycentric terms) of an edge or end are not counted:
    touching is not crossing. Only the first segments that fit `budget` tests (and
    SEGMENT_POINTS points along them) are checked;
    returns the indices of those found crossing, how many segments were checked, and the tests."""
    direction = ends - starts
    length = np.sqrt(np.einsum("ij,ij->i", direction, direction))
    steps = np.maximum(np.ceil(length / grid.step), 1).astype(np.int64)
    queries = max(int(np.searchsorted(np.cumsum(steps + 1), SEGMENT_POINTS, side="right")), 1)
    queries = min(queries, len(starts))
    steps = steps[:queries]
    owner = np.repeat(np.arange(queries), steps + 1)
    r = np.arange(len(owner)) - np.repeat(np.cumsum(steps + 1) - (steps + 1), steps + 1)
    f = (r / steps[owner])[:, None]
    points = starts[owner] + f * direction[owner]
    pair_owner, pair_tri, kept = grid.pairs(mesh, points, owner, queries, budget)
    found: list[np.ndarray] = []
    for start in range(0, len(pair_owner), CHUNK_PAIRS):
        q = pair_owner[start : start + CHUNK_PAIRS]
        tri = pair_tri[start : start + CHUNK_PAIRS]
        nx, ny, nz, offset = np.take(mesh.planes, tri, axis=1)
        ax, ay, az = np.take(starts.T, q, axis=1)
        bx, by, bz = np.take(ends.T, q, axis=1)
        sides = (nx * ax + ny * ay + nz * az - offset) * (nx * bx + ny * by + nz * bz - offset)
        q, tri = q[sides < 0], tri[sides < 0]  # both ends on one side of the plane: no crossing
        corners = corner_ids[tri]
        shared = np.zeros(len(q), bool)
        for ends_ids in end_ids:
            shared |= (corners == ends_ids[q][:, None]).any(axis=1)
        q, tri = q[~shared], tri[~shared]
        t, _, u, v = _crossings(mesh.rows, tri, starts, direction, q, barycentric=True)
        inside = (t > tolerance) & (t < 1 - tolerance)
        with np.errstate(invalid="ignore"):  # nan where the line missed: never inside
            inside &= (u > tolerance) & (v > tolerance) & (u + v < 1 - tolerance)
        found.append(q[inside])
    hits = np.unique(np.concatenate(found)) if found else np.empty(0, np.int64)
    return hits, kept, len(pair_owner)


def _crossings(
    rows: np.ndarray,
    tri: np.ndarray,
    origins: np.ndarray,
    directions: np.ndarray,
    q: np.ndarray,
    barycentric: bool = False,
):
    """Möller–Trumbore for pairs: line parameter t (nan when the line misses) and det.

    Computed in the precision of `rows`: float32 for thickness readings (errors of 0.1 µm on a
    metre-long part), float64 where touching must not pass for crossing."""
    v0x, v0y, v0z, e1x, e1y, e1z, e2x, e2y, e2z = np.take(rows, tri, axis=1)
    ox, oy, oz = np.take(origins.T, q, axis=1)
    dx, dy, dz = np.take(directions.T, q, axis=1)
    px, py, pz = _cross((dx, dy, dz), (e2x, e2y, e2z))
    det = e1x * px + e1y * py + e1z * pz
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / det
        tx, ty, tz = ox - v0x, oy - v0y, oz - v0z
        u = (tx * px + ty * py + tz * pz) * inv
        qx, qy, qz = _cross((tx, ty, tz), (e1x, e1y, e1z))
        v = (dx * qx + dy * qy + dz * qz) * inv
        t = (e2x * qx + e2y * qy + e2z * qz) * inv
        miss = ~((u >= 0) & (v >= 0) & (u + v <= 1) & np.isfinite(t))
    t[miss] = np.nan
    if barycentric:
        return t, det, u, v
    return t, det


def _nearest(out: np.ndarray, q: np.ndarray, distance: np.ndarray, keep: np.ndarray) -> None:
    np.minimum.at(out, q[keep], distance[keep])


def _cross(a, b):
    ax, ay, az = a
    bx, by, bz = b
    return ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx


def _cell(points: np.ndarray, origin: np.ndarray, h: float, dims: np.ndarray) -> np.ndarray:
    """Cell indices, clipped to one ring of empty cells around the grid."""
    idx = np.floor((points - origin) / h).astype(np.int64)
    return np.clip(idx, -1, dims)


def _key(ix: np.ndarray, iy: np.ndarray, iz: np.ndarray, dims: np.ndarray) -> np.ndarray:
    ny, nz = int(dims[1]) + 2, int(dims[2]) + 2
    return ((ix + 1) * ny + (iy + 1)) * nz + (iz + 1)
