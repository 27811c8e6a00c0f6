"""The viewer mesh's format: what Python writes, Python and the browser's parser read back."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import trimesh
from conftest import cannot_run

from xometry_site.services.quotes.viewer_mesh import QUANTA, MeshFormatError, decode, encode

ROOT = Path(__file__).parents[2]
CUBE = trimesh.creation.box(extents=(40, 20, 10)).triangles.astype(np.float32)


def test_a_closed_mesh_shares_its_corners_and_keeps_its_winding():
    positions, indices = decode(encode(CUBE))
    assert positions.shape == (8, 3) and indices.shape == (12, 3)
    assert np.allclose(positions[indices], CUBE, atol=1e-3)  # same corners, same order


def test_quantising_moves_no_corner_more_than_half_a_step():
    rng = np.random.default_rng(7)
    triangles = rng.uniform([-250, 0, 3], [250, 120, 60], size=(5000, 3, 3)).astype(np.float32)
    positions, indices = decode(encode(triangles))
    assert len(indices) == 5000  # random corners: none merged, no triangle collapsed
    half_step = np.ptp(triangles.reshape(-1, 3), axis=0) / QUANTA / 2
    assert np.all(np.abs(positions[indices] - triangles) <= half_step * 1.01 + 1e-4)


def test_it_is_much_smaller_than_the_triangles_and_the_same_every_time():
    sphere = trimesh.creation.icosphere(subdivisions=5, radius=50).triangles.astype(np.float32)
    data = encode(sphere)
    assert len(data) < sphere.nbytes / 4
    assert encode(sphere) == data  # no time stamp in the gzip header


def test_collapsed_and_non_finite_triangles_are_left_out():
    bad = np.array(
        [
            [[0, 0, 0], [0, 0, 0], [1, 1, 1]],  # two corners in one place
            [[0, 0, 0], [np.nan, 0, 0], [1, 1, 1]],
        ],
        np.float32,
    )
    positions, indices = decode(encode(np.concatenate([CUBE, bad])))
    assert len(indices) == 12 and np.all(np.isfinite(positions))
    assert encode(bad) is None
    assert encode(np.empty((0, 3, 3), np.float32)) is None


def test_a_flat_part_keeps_its_flat_axis():
    flat = np.array([[[0, 0, 5], [10, 0, 5], [0, 10, 5]]], np.float32)
    positions, _ = decode(encode(flat))
    assert np.allclose(positions[:, 2], 5)


@pytest.mark.parametrize(
    "data",
    [
        b"not gzip",
        gzip.compress(b"XMSH", mtime=0),
        gzip.compress(b"ABCD" + bytes(36), mtime=0),
        gzip.decompress(encode(CUBE)),  # not gzipped
        gzip.compress(gzip.decompress(encode(CUBE))[:-4], mtime=0),  # cut short
    ],
    # the same test ids in every xdist worker (gzip would stamp each with the time)
    ids=["not_gzip", "wrong_magic", "wrong_header", "not_gzipped", "cut_short"],
)
def test_anything_else_is_refused(data):
    with pytest.raises(MeshFormatError):
        decode(data)


def test_an_index_past_the_vertices_is_refused():
    raw = bytearray(gzip.decompress(encode(CUBE)))
    raw[-4:] = (99).to_bytes(4, "little")
    with pytest.raises(MeshFormatError):
        decode(gzip.compress(bytes(raw)))


def parse_with_node(path: Path) -> subprocess.CompletedProcess:
    """assets/mesh_format.js run by node on a file's bytes; JSON of what it read on stdout."""
    node = shutil.which("node")
    if node is None:
        cannot_run("node is not installed (the browser code is built with it)")
    script = (
        f"import {{ parseMesh }} from {json.dumps((ROOT / 'assets/mesh_format.js').as_uri())};\n"
        "import { readFileSync } from 'node:fs';\n"
        f"const bytes = readFileSync({json.dumps(str(path))});\n"
        "const { positions, indices } = parseMesh(bytes.buffer.slice("
        "bytes.byteOffset, bytes.byteOffset + bytes.byteLength));\n"
        "console.log(JSON.stringify({ positions: [...positions], indices: [...indices] }));\n"
    )
    return subprocess.run(
        [node, "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_browser_parser_reads_what_python_writes(tmp_path):
    """The bytes the browser holds once it has inflated the gzip, read by the viewer's parser."""
    rng = np.random.default_rng(3)
    triangles = np.concatenate([CUBE, rng.uniform(-5, 70, size=(50, 3, 3)).astype(np.float32)])
    mesh = tmp_path / "mesh.bin"
    mesh.write_bytes(gzip.decompress(encode(triangles)))
    done = parse_with_node(mesh)
    assert done.returncode == 0, done.stderr
    read = json.loads(done.stdout)
    positions, indices = decode(encode(triangles))
    assert read["indices"] == indices.reshape(-1).tolist()
    assert np.allclose(np.array(read["positions"]).reshape(-1, 3), positions, atol=1e-4)

    broken = tmp_path / "broken.bin"
    broken.write_bytes(b"XMSH" + bytes(10))
    done = parse_with_node(broken)
    assert done.returncode != 0 and "not a viewer mesh" in done.stderr
