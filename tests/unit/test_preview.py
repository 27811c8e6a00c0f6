"""Preview images: a valid PNG of the requested size that shows the part, from one STL pass."""

from __future__ import annotations

import io

import numpy as np
import trimesh
from PIL import Image

from xometry_site.services.quotes.preview import (
    BACKGROUND,
    FILL_BUDGET,
    RenderStats,
    TriangleSample,
    analyze_stl_with_preview,
    preview_png,
    render_preview,
)

CUBE = trimesh.creation.box(extents=(10, 10, 10)).triangles.astype(np.float32) + np.float32(5)


def binary_stl(triangles: np.ndarray) -> bytes:
    records = np.zeros(len(triangles), np.dtype([("n", "<f4", 3), ("v", "<f4", 9), ("a", "<u2")]))
    records["v"] = np.asarray(triangles, np.float32).reshape(-1, 9)
    return b"\0" * 80 + len(triangles).to_bytes(4, "little") + records.tobytes()


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def decode(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return np.asarray(image.convert("RGB"))


def part_mask(pixels: np.ndarray) -> np.ndarray:
    return np.any(pixels != BACKGROUND, axis=2)


def test_cube_preview_is_a_png_of_the_right_size_showing_the_part():
    pixels = decode(render_preview(CUBE, size=(480, 360)))
    assert pixels.shape == (360, 480, 3)
    mask = part_mask(pixels)
    assert 0.15 < mask.mean() < 0.8  # the part fills a good share, not the whole frame
    assert not mask[0].any() and not mask[-1].any()  # a margin all round
    assert not mask[:, 0].any() and not mask[:, -1].any()
    # three visible faces, three different shades
    assert len({tuple(p) for p in pixels[mask]}) >= 3


def test_other_sizes_are_honoured():
    assert decode(render_preview(CUBE, size=(160, 120))).shape == (120, 160, 3)


def test_no_triangles_gives_a_blank_image_not_an_error():
    pixels = decode(render_preview(np.empty((0, 3, 3)), size=(64, 48)))
    assert pixels.shape == (48, 64, 3)
    assert not part_mask(pixels).any()


def test_a_part_inside_another_stays_hidden_whatever_the_triangle_order():
    inner = CUBE * np.float32(0.5) + np.float32(2.5)  # entirely inside the cube
    alone = decode(render_preview(CUBE))
    assert (decode(render_preview(np.concatenate([CUBE, inner]))) == alone).all()
    assert (decode(render_preview(np.concatenate([inner, CUBE]))) == alone).all()


def test_stream_sample_is_bounded_and_preview_of_a_big_mesh_has_no_holes():
    mesh = trimesh.creation.torus(40, 12, major_sections=300, minor_sections=150)  # 90 000
    geometry = analyze_stl_with_preview(chunked(binary_stl(mesh.triangles), 65536), limit=20_000)
    assert geometry.triangles == 90_000
    assert geometry.preview_triangles.shape == (20_000, 3, 3)
    assert geometry.watertight is True
    full = decode(render_preview(mesh.triangles, max_triangles=10**6)).astype(int)
    sampled = decode(preview_png(geometry)).astype(int)
    assert (part_mask(full) != part_mask(sampled)).mean() < 0.01  # same silhouette
    # gaps between sampled triangles are filled, not showing the far wall or the background
    assert (np.abs(full - sampled).max(axis=2) > 40).mean() < 0.05


def test_reservoir_sample_without_a_count_is_uniform_and_bounded():
    sample = TriangleSample(limit=1000, seed=1)
    sample.begin(None)
    ids = np.arange(100_000, dtype=np.float32)
    for start in range(0, len(ids), 7_000):
        block = np.repeat(ids[None, start : start + 7_000], 9, axis=0)
        sample.add(block)
    kept = sample.triangles()[:, 0, 0]
    assert len(kept) == 1000 and len(np.unique(kept)) == 1000
    # uniform: roughly a tenth of the sample from each tenth of the stream
    counts = np.histogram(kept, bins=10, range=(0, 100_000))[0]
    assert counts.min() > 60 and counts.max() < 140


def test_small_files_are_kept_whole():
    geometry = analyze_stl_with_preview([binary_stl(CUBE)])
    assert np.array_equal(np.sort(geometry.preview_triangles.ravel()), np.sort(CUBE.ravel()))


def overlapping_slabs(count: int) -> np.ndarray:
    """The denial-of-service mesh: `count` triangles each covering most of the image, stacked
    (36,000 of them took 250 s to render before the fill budget)."""
    rng = np.random.default_rng(7)
    base = np.array([[0, 0, 0], [100, 0, 0], [0, 100, 100]], np.float64)
    return base[None] + rng.normal(0, 1, (count, 3, 3))


def test_any_mesh_renders_within_the_pixel_budget_and_still_shows_the_part():
    tris = overlapping_slabs(200_000)
    stats = RenderStats()
    pixels = decode(render_preview(tris, stats=stats))
    assert stats.pixel_tests <= FILL_BUDGET
    assert stats.left_out > 190_000  # what an unbounded fill would have had to draw
    few = decode(render_preview(tris[:200], represents=len(tris)))
    assert (part_mask(pixels) != part_mask(few)).mean() < 0.03  # the slab is drawn whole


def test_an_ordinary_part_is_drawn_whole_well_under_the_budget():
    mesh = trimesh.creation.torus(40, 12, major_sections=300, minor_sections=150)
    stats = RenderStats()
    render_preview(mesh.triangles, stats=stats)
    assert stats.left_out == 0 and stats.filled == len(mesh.triangles)
    assert stats.pixel_tests < FILL_BUDGET / 4
