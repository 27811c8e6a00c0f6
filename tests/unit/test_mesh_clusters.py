"""Vertex clustering: a mesh too large for the viewer comes out whole, smaller, and on its surface."""

from __future__ import annotations

import numpy as np
import trimesh

from xometry_site.services.quotes.mesh_clusters import VertexClusters
from xometry_site.services.quotes.preview import analyze_stl_with_preview

SPHERE = trimesh.creation.icosphere(subdivisions=5, radius=50).triangles.astype(np.float32)


def clustered(
    triangles: np.ndarray, limit: int, block: int = 4096
) -> tuple[VertexClusters, np.ndarray]:
    clusters = VertexClusters(limit)
    clusters.begin(len(triangles))
    for start in range(0, len(triangles), block):
        planes = np.ascontiguousarray(triangles[start : start + block].reshape(-1, 9).T)
        clusters.add(planes)
    return clusters, clusters.triangles()


def area(triangles: np.ndarray) -> float:
    t = triangles.astype(np.float64)
    return float(np.linalg.norm(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]), axis=1).sum() / 2)


def test_a_large_sphere_comes_out_whole_smaller_and_on_its_surface():
    clusters, result = clustered(SPHERE, limit=3000)
    assert 3000 / 4 < len(result) <= 3000  # the finest grid that leaves at most the limit
    cube = 2.0**clusters.level
    radius = np.linalg.norm(result.reshape(-1, 3), axis=1)
    assert np.all(np.abs(radius - 50) < cube)  # corners stay within a cube of the surface
    assert abs(area(result) / area(SPHERE) - 1) < 0.03  # no holes: the surface is all there
    mesh = trimesh.Trimesh(*_indexed(result))
    assert mesh.is_watertight  # closed in, closed out


def test_the_result_does_not_depend_on_how_the_file_was_split():
    _, one = clustered(SPHERE, limit=3000, block=20480)
    _, many = clustered(SPHERE, limit=3000, block=1000)
    assert sorted(map(tuple, one.reshape(-1, 9).round(4))) == sorted(
        map(tuple, many.reshape(-1, 9).round(4))
    )


def test_windings_are_kept():
    _, result = clustered(SPHERE, limit=3000)
    centres = result.mean(axis=1)
    normals = np.cross(result[:, 1] - result[:, 0], result[:, 2] - result[:, 0])
    assert np.mean(np.einsum("ij,ij->i", normals, centres) > 0) > 0.99  # still facing out


def test_a_part_too_large_for_the_first_grid_is_coarsened_to_fit():
    far = np.array([[[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 0, 0], [5e6, 0, 0], [0, 5e6, 0]]])
    clusters, result = clustered(far.astype(np.float32), limit=10, block=1)
    assert len(result) >= 1 and np.isfinite(result).all()
    assert (1 << 20) * 2.0**clusters.level > 5e6


def test_broken_triangles_are_left_out():
    bad = np.full((3, 3, 3), np.nan, np.float32)
    _, result = clustered(np.concatenate([SPHERE[:100], bad]), limit=1000)
    assert len(result) and np.isfinite(result).all()
    _, nothing = clustered(bad, limit=10)
    assert nothing.shape == (0, 3, 3)


def test_an_stl_larger_than_the_preview_limit_gets_a_whole_viewer_mesh():
    records = np.zeros(len(SPHERE), np.dtype([("n", "<f4", 3), ("v", "<f4", 9), ("a", "<u2")]))
    records["v"] = SPHERE.reshape(-1, 9)
    stl = b"\0" * 80 + len(SPHERE).to_bytes(4, "little") + records.tobytes()
    small = analyze_stl_with_preview([stl], limit=len(SPHERE))
    assert small.viewer_triangles is small.preview_triangles  # all of it: kept as it is
    large = analyze_stl_with_preview([stl], limit=4000)
    assert len(large.preview_triangles) == 4000  # the preview's random sample
    assert len(large.viewer_triangles) <= 4000
    assert abs(area(large.viewer_triangles) / area(SPHERE) - 1) < 0.03  # whole, not a sample
    assert abs(area(large.preview_triangles) / area(SPHERE) - 4000 / len(SPHERE)) < 0.03


def _indexed(triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vertices, inverse = np.unique(triangles.reshape(-1, 3), axis=0, return_inverse=True)
    return vertices, inverse.reshape(-1, 3)
