"""Shaded PNG previews of parts, rendered with numpy (z-buffer) and Pillow — no GPU, no VTK.

The STL analysis streams once; `TriangleSample` rides along as its sink and keeps a bounded,
evenly spread sample of triangles, so the preview needs no second pass over the drawing.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from xometry_site.services.quotes.geometry import PartGeometry
from xometry_site.services.quotes.mesh_clusters import VertexClusters
from xometry_site.services.quotes.stl_reader import analyze_stl

PREVIEW_TRIANGLES = 200_000  # enough to look solid at 480×360, small enough to render in ~1 s
BACKGROUND = np.array([246, 247, 249], np.uint8)
BASE_COLOUR = np.array([108, 152, 202], np.float32)  # steel blue
AMBIENT, KEY, FILL = 0.3, 0.55, 0.25  # light shares: no face goes black
MARGIN = 0.08  # of the image, around the part
MAX_GROWTH = 4.0  # a sampled triangle stands in for at most 16 of the same size
SMALL_TRIANGLE_PX = 4.0
HOLE_FILL_ROUNDS = 2
HOLE_NEIGHBOURS = 6  # of 8: a silhouette edge has at most 5 nearer neighbours
HOLE_DEPTH_STEP = 0.02  # of the part's depth
MAX_CANDIDATES = 2_000_000  # pixel tests per rasterisation batch: bounds memory (~100 MB)
# Pixel tests per render, whatever the mesh: a part drawn true covers the image a few times over
# (~1 M); 36,000 large overlapping triangles once took 250 s. Past it the largest triangles are
# left out (their centres are still marked) and the render finishes with what is drawn.
FILL_BUDGET = 8_000_000
BOX_SIDE = 4  # triangles up to this many pixels across are tested box-wise, larger ones by spans
_EYE = np.array([1.0, -1.2, 0.9])  # isometric-ish: front, right, above; z is up
# towards the lights, in view space (right, up, forward): key from the upper left behind the
# viewer, fill from the right
_KEY_LIGHT = np.array([-0.35, 0.55, -0.76])
_FILL_LIGHT = np.array([0.8, -0.1, -0.6])


@dataclass
class RenderStats:
    """What one render cost: pixel tests against its FILL_BUDGET, triangles filled or left out."""

    pixel_tests: int = 0
    filled: int = 0
    left_out: int = 0


class TriangleSample:
    """Keeps a uniform random sample of at most `limit` triangles of a stream: chosen up front
    when the header tells how many follow (binary STL), else by reservoir sampling (ASCII).
    Seeded, so a file always looks the same; random, so regular meshes show no moiré."""

    def __init__(self, limit: int = PREVIEW_TRIANGLES, seed: int = 0) -> None:
        self.limit = limit
        self._rng = np.random.default_rng(seed)
        self._kept = np.empty((limit, 9), np.float32)
        self._filled = 0
        self._seen = 0
        self._chosen: np.ndarray | None = None

    def begin(self, expected: int | None) -> None:
        """Pick the sampled indices now when the count is known and too large to keep all."""
        if expected and expected > self.limit:
            self._chosen = np.sort(self._rng.choice(expected, self.limit, replace=False))

    def add(self, planes: np.ndarray) -> None:
        """Take what we keep from a (9, k) block (copied: the block is reused afterwards)."""
        k = planes.shape[1]
        start = self._seen
        self._seen += k
        if self._chosen is not None:
            lo, hi = np.searchsorted(self._chosen, [start, start + k])
            picked = planes[:, self._chosen[lo:hi] - start].T
            self._kept[self._filled : self._filled + len(picked)] = picked
            self._filled += len(picked)
            return
        rows = planes.T
        room = self.limit - self._filled
        if room > 0:
            take = rows[:room]
            self._kept[self._filled : self._filled + len(take)] = take
            self._filled += len(take)
            rows = rows[len(take) :]
            start += len(take)
        if len(rows):
            # reservoir (Algorithm R, vectorised): item i replaces slot j ~ U[0, i] if j < limit
            slots = self._rng.integers(0, np.arange(start, start + len(rows)) + 1)
            hit = slots < self.limit
            self._kept[slots[hit]] = rows[hit]

    def triangles(self) -> np.ndarray:
        """(n, 3, 3) float32 sample."""
        return self._kept[: self._filled].reshape(-1, 3, 3).copy()


class PreviewAndViewer:
    """One pass feeds the preview's sample and, for a mesh too large to keep whole (or of a size
    not told up front, as in ASCII STL), the 3D viewer's simplified copy."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.sample = TriangleSample(limit)
        self.clusters: VertexClusters | None = None

    def begin(self, expected: int | None) -> None:
        self.sample.begin(expected)
        if expected is None or expected > self.limit:
            self.clusters = VertexClusters(self.limit)

    def add(self, planes: np.ndarray) -> None:
        self.sample.add(planes)
        if self.clusters is not None:
            self.clusters.add(planes)


def analyze_stl_with_preview(
    chunks: Iterable[bytes], limit: int = PREVIEW_TRIANGLES, check_watertight: bool = True
) -> PartGeometry:
    """analyze_stl plus `preview_triangles` and `viewer_triangles`, in one pass over the stream."""
    sink = PreviewAndViewer(limit)
    geometry = analyze_stl(chunks, check_watertight=check_watertight, sink=sink)
    geometry.preview_triangles = sink.sample.triangles()
    whole = (geometry.triangles or 0) <= limit or sink.clusters is None
    geometry.viewer_triangles = geometry.preview_triangles if whole else sink.clusters.triangles()
    return geometry


def preview_png(geometry: PartGeometry, size: tuple[int, int] = (480, 360)) -> bytes | None:
    """The PNG of an analysed part, or None when the analysis kept no triangles."""
    tris = geometry.preview_triangles
    if tris is None or len(tris) == 0:
        return None
    return render_preview(tris, size, represents=geometry.triangles)


def render_preview(
    triangles: np.ndarray,
    size: tuple[int, int] = (480, 360),
    max_triangles: int = PREVIEW_TRIANGLES,
    represents: int | None = None,
    budget: int = FILL_BUDGET,
    stats: RenderStats | None = None,
) -> bytes:
    """PNG of the part seen from the front-right-top, flat Lambert shading, z-buffered.

    `represents` is how many triangles the whole part has when `triangles` is a sample: small
    kept triangles are then enlarged about their centres to cover the area of those left out.
    At most `budget` pixel tests are made (counted in `stats`), so any mesh renders in bounded time.
    """
    width, height = size
    tris = np.asarray(triangles, dtype=np.float64).reshape(-1, 3, 3)
    tris = tris[np.all(np.isfinite(tris), axis=(1, 2))]
    represents = max(represents or 0, len(tris))
    if len(tris) > max_triangles:
        tris = tris[:: math.ceil(len(tris) / max_triangles)]
    grow = min(2.0 * math.sqrt(represents / len(tris)), MAX_GROWTH) if len(tris) else 1.0
    image = np.empty((height, width, 3), np.uint8)
    image[:] = BACKGROUND
    if len(tris):
        screen, shade = _project(tris, width, height)
        if grow > 2.0:
            _grow_small(screen, grow)
        depth = _rasterise(screen, shade, image, budget, stats or RenderStats())
        for _ in range(HOLE_FILL_ROUNDS):
            _fill_holes(image, depth)
    buffer = io.BytesIO()
    Image.fromarray(image, "RGB").save(buffer, "PNG")
    return buffer.getvalue()


def _view_axes() -> np.ndarray:
    forward = -_EYE / np.linalg.norm(_EYE)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    return np.stack([right, up, forward])


def _project(tris: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Screen coordinates (x, y in pixels, depth) of each corner and a grey level per triangle."""
    view = tris.reshape(-1, 3) - (tris.reshape(-1, 3).min(0) + tris.reshape(-1, 3).max(0)) / 2
    view = (view @ _view_axes().T).reshape(-1, 3, 3)
    normal = np.cross(view[:, 1] - view[:, 0], view[:, 2] - view[:, 0])
    length = np.linalg.norm(normal, axis=1)
    length[length == 0] = 1.0
    key = _KEY_LIGHT / np.linalg.norm(_KEY_LIGHT)
    fill = _FILL_LIGHT / np.linalg.norm(_FILL_LIGHT)
    # two-sided (abs): STL normals and winding are often inconsistent
    shade = AMBIENT + (KEY * np.abs(normal @ key) + FILL * np.abs(normal @ fill)) / length
    lo, hi = view.reshape(-1, 3).min(0), view.reshape(-1, 3).max(0)
    span = np.maximum(hi - lo, 1e-12)
    scale = min(width * (1 - 2 * MARGIN) / span[0], height * (1 - 2 * MARGIN) / span[1])
    screen = np.empty_like(view)
    screen[..., 0] = width / 2 + (view[..., 0] - (lo[0] + hi[0]) / 2) * scale
    screen[..., 1] = height / 2 - (view[..., 1] - (lo[1] + hi[1]) / 2) * scale
    screen[..., 2] = (view[..., 2] - lo[2]) / span[2]  # 0 near .. 1 far
    return screen, shade


def _grow_small(screen: np.ndarray, grow: float) -> None:
    """Enlarge the few-pixel triangles of a sample about their centres to close the gaps left
    by those not sampled; large triangles are drawn true, they leave no gaps."""
    extent = np.ptp(screen[..., :2], axis=1).max(axis=1)
    small = extent < SMALL_TRIANGLE_PX
    centre = screen[small].mean(axis=1, keepdims=True)
    screen[small] = centre + (screen[small] - centre) * grow


def _rasterise(
    screen: np.ndarray, shade: np.ndarray, image: np.ndarray, budget: int, stats: RenderStats
) -> np.ndarray:
    """Z-buffer: each covered pixel keeps min(depth << 32 | triangle) over all triangles.

    Cheapest triangles first, until `budget` pixel tests are spent. Returns the depth image
    (0 near .. 1 far, inf where the background shows)."""
    height, width = image.shape[:2]
    zbuffer = np.full(height * width, np.iinfo(np.uint64).max, np.uint64)
    x0 = np.floor(screen[..., 0].min(1)).astype(np.int64)
    y0 = np.floor(screen[..., 1].min(1)).astype(np.int64)
    extent = np.maximum(
        np.ceil(screen[..., 0].max(1)).astype(np.int64) - x0,
        np.ceil(screen[..., 1].max(1)).astype(np.int64) - y0,
    )
    # tiny triangles also mark the pixel under their centre, so a sparse sample leaves no holes
    centre = screen.mean(axis=1)
    _splat(zbuffer, centre, np.arange(len(screen)), width, height)
    boxed = extent <= BOX_SIDE
    side = 1 << np.ceil(np.log2(np.maximum(extent, 1))).astype(np.int64)
    cost = np.where(boxed, side * side, _span_cost(screen, width, height))
    order = np.argsort(cost, kind="stable")
    within = np.cumsum(cost[order]) <= budget
    chosen = order[within]
    stats.left_out += len(order) - len(chosen)
    stats.filled += len(chosen)
    small = chosen[boxed[chosen]]
    for b in np.unique(side[small]):
        members = small[side[small] == b]
        per_batch = max(1, MAX_CANDIDATES // int(b * b))
        for start in range(0, len(members), per_batch):
            idx = members[start : start + per_batch]
            _cover(zbuffer, screen[idx], idx, x0[idx], y0[idx], int(b), width, height)
            stats.pixel_tests += len(idx) * int(b * b)
    large = chosen[~boxed[chosen]]
    spent = budget - stats.pixel_tests
    for start in range(0, len(large), 4096):
        spent -= _spans(zbuffer, screen, large[start : start + 4096], width, height, spent, stats)
        if spent <= 0:
            break
    hit = zbuffer != np.iinfo(np.uint64).max
    triangle = (zbuffer[hit] & np.uint64(0xFFFFFFFF)).astype(np.int64)
    colour = np.clip(BASE_COLOUR * shade[triangle, None], 0, 255).astype(np.uint8)
    image.reshape(-1, 3)[hit] = colour
    depth = np.full(height * width, np.inf)
    depth[hit] = (zbuffer[hit] >> np.uint64(32)).astype(np.float64) / 0xFFFFFFFE
    return depth.reshape(height, width)


def _span_cost(screen: np.ndarray, width: int, height: int) -> np.ndarray:
    """Upper estimate of a triangle's pixel tests by spans: its rows in the image plus the
    smaller of its area and its bounding box clipped to the image."""
    x = np.clip(screen[..., 0], 0, width)
    y = np.clip(screen[..., 1], 0, height)
    rows = np.ceil(y.max(1)) - np.floor(y.min(1)) + 1
    box = (np.ceil(x.max(1)) - np.floor(x.min(1)) + 1) * rows
    a, b, c = screen[:, 0, :2], screen[:, 1, :2], screen[:, 2, :2]
    ab, ac = b - a, c - a
    area = np.abs(ab[:, 0] * ac[:, 1] - ab[:, 1] * ac[:, 0]) / 2
    return (rows + np.minimum(area + rows, box)).astype(np.int64)


def _spans(
    zbuffer: np.ndarray,
    screen: np.ndarray,
    idx: np.ndarray,
    width: int,
    height: int,
    allowance: int,
    stats: RenderStats,
) -> int:
    """Fill large triangles row by row, only the pixels whose centres fall inside (clipped to
    the image), at most `allowance` pixels; returns how many pixel tests were made."""
    tri = screen[idx]
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    normal = np.cross(b - a, c - a)  # depth plane: z = a.z - (nx (x - a.x) + ny (y - a.y)) / nz
    flat = normal[:, 2] == 0
    tri, idx, normal = tri[~flat], idx[~flat], normal[~flat]
    if not len(idx):
        return 0
    top = np.clip(np.ceil(tri[..., 1].min(1) - 0.5), 0, height).astype(np.int64)
    bottom = np.clip(np.floor(tri[..., 1].max(1) - 0.5) + 1, 0, height).astype(np.int64)
    rows = np.maximum(bottom - top, 0)
    owner = np.repeat(np.arange(len(idx)), rows)
    row = top[owner] + np.arange(len(owner)) - np.repeat(np.cumsum(rows) - rows, rows)
    yc = row + 0.5
    left = np.full(len(owner), np.inf)
    right = np.full(len(owner), -np.inf)
    for i, j in ((0, 1), (1, 2), (2, 0)):
        p, q = tri[owner, i], tri[owner, j]
        dy = q[:, 1] - p[:, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (yc - p[:, 1]) / dy
        crosses = (dy != 0) & (t >= 0) & (t <= 1)
        x = p[:, 0] + t * (q[:, 0] - p[:, 0])
        left = np.where(crosses, np.minimum(left, x), left)
        right = np.where(crosses, np.maximum(right, x), right)
    first = np.clip(np.ceil(left - 0.5), 0, width).astype(np.int64)
    last = np.clip(np.floor(right - 0.5) + 1, 0, width).astype(np.int64)
    count = np.maximum(last - first, 0)
    tests = len(owner)  # one span per row
    room = max(allowance - tests, 0)
    total = np.cumsum(count)
    if len(total) and total[-1] > room:  # the budget ends in this batch: stop where it does
        cut = int(np.searchsorted(total, room, side="right"))
        count[cut:] = 0
    pixels = int(count.sum())
    if pixels:
        who = np.repeat(owner, count)
        px = (
            np.repeat(first, count) + np.arange(pixels) - np.repeat(np.cumsum(count) - count, count)
        )
        py = np.repeat(row, count)
        n, corner = normal[who], tri[who, 0]
        depth = (
            corner[:, 2]
            - (n[:, 0] * (px + 0.5 - corner[:, 0]) + n[:, 1] * (py + 0.5 - corner[:, 1])) / n[:, 2]
        )
        _resolve(zbuffer, py * width + px, depth, idx[who])
    stats.pixel_tests += tests + pixels
    return tests + pixels


def _splat(
    zbuffer: np.ndarray, points: np.ndarray, idx: np.ndarray, width: int, height: int
) -> None:
    px = np.floor(points[:, 0]).astype(np.int64)
    py = np.floor(points[:, 1]).astype(np.int64)
    ok = (px >= 0) & (px < width) & (py >= 0) & (py < height)
    _resolve(zbuffer, py[ok] * width + px[ok], points[ok, 2], idx[ok])


def _cover(
    zbuffer: np.ndarray,
    tri: np.ndarray,
    idx: np.ndarray,
    x0: np.ndarray,
    y0: np.ndarray,
    side: int,
    width: int,
    height: int,
) -> None:
    """Test the pixel centres of a side×side box per triangle; keep those inside."""
    offsets = np.arange(side)
    px = (x0[:, None, None] + offsets[None, None, :]).astype(np.float64) + 0.5
    py = (y0[:, None, None] + offsets[None, :, None]).astype(np.float64) + 0.5
    px, py = np.broadcast_arrays(px, py)
    a, b, c = tri[:, 0, None, None, :], tri[:, 1, None, None, :], tri[:, 2, None, None, :]

    def edge(p: np.ndarray, q: np.ndarray) -> np.ndarray:
        return (q[..., 0] - p[..., 0]) * (py - p[..., 1]) - (q[..., 1] - p[..., 1]) * (
            px - p[..., 0]
        )

    w0, w1, w2 = edge(b, c), edge(c, a), edge(a, b)
    area = w0 + w1 + w2
    inside = ((w0 >= 0) & (w1 >= 0) & (w2 >= 0)) | ((w0 <= 0) & (w1 <= 0) & (w2 <= 0))
    inside &= area != 0
    inside &= (px >= 0) & (px < width) & (py >= 0) & (py < height)
    t, row, col = np.nonzero(inside)
    if not len(t):
        return
    depth = (
        w0[t, row, col] * tri[t, 0, 2]
        + w1[t, row, col] * tri[t, 1, 2]
        + w2[t, row, col] * tri[t, 2, 2]
    ) / area[t, row, col]
    pixel = py[t, row, col].astype(np.int64) * width + px[t, row, col].astype(np.int64)
    _resolve(zbuffer, pixel, depth, idx[t])


def _resolve(zbuffer: np.ndarray, pixel: np.ndarray, depth: np.ndarray, idx: np.ndarray) -> None:
    quantised = (np.clip(depth, 0.0, 1.0) * 0xFFFFFFFE).astype(np.uint64)
    key = (quantised << np.uint64(32)) | idx.astype(np.uint64)
    np.minimum.at(zbuffer, pixel, key)


def _fill_holes(image: np.ndarray, depth: np.ndarray) -> None:
    """Pixels where most neighbours are clearly nearer — background or a far surface seen
    through a gap between sampled triangles — take the mean colour and depth of those."""
    h, w = depth.shape
    padded_depth = np.pad(depth, 1, constant_values=np.inf)
    padded_image = np.pad(image.astype(np.float32), ((1, 1), (1, 1), (0, 0)))
    count = np.zeros((h, w), np.int32)
    colour = np.zeros((h, w, 3), np.float32)
    nearer_depth = np.zeros((h, w))
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            if dy == dx == 1:
                continue
            d = padded_depth[dy : dy + h, dx : dx + w]
            nearer = d < depth - HOLE_DEPTH_STEP
            count += nearer
            colour += padded_image[dy : dy + h, dx : dx + w] * nearer[..., None]
            nearer_depth += np.where(nearer, d, 0.0)
    hole = count >= HOLE_NEIGHBOURS
    image[hole] = (colour[hole] / count[hole, None]).astype(np.uint8)
    depth[hole] = nearer_depth[hole] / count[hole]
