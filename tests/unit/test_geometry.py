"""Geometry of uploaded parts: STL streamed in any chunking, STEP/IGES through OpenCascade."""

from __future__ import annotations

import os
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xometry_site.services.quotes import mesh_totals
from xometry_site.services.quotes.geometry import (
    REASON_LABELS,
    GeometryError,
    PartGeometry,
    analyze_drawing,
)
from xometry_site.services.quotes.step_reader import analyze_step
from xometry_site.services.quotes.stl_reader import analyze_stl

# A 10 mm cube from (0,0,0) to (10,10,10), outward-facing triangles.
_V = np.array(
    [
        [0, 0, 0],
        [10, 0, 0],
        [10, 10, 0],
        [0, 10, 0],
        [0, 0, 10],
        [10, 0, 10],
        [10, 10, 10],
        [0, 10, 10],
    ],
    dtype=np.float32,
)
_F = [
    (0, 2, 1), (0, 3, 2),  # bottom
    (4, 5, 6), (4, 6, 7),  # top
    (0, 1, 5), (0, 5, 4),  # front
    (2, 3, 7), (2, 7, 6),  # back
    (1, 2, 6), (1, 6, 5),  # right
    (3, 0, 4), (3, 4, 7),  # left
]  # fmt: skip
CUBE = _V[np.array(_F)]


def binary_stl(
    triangles: np.ndarray, header: bytes = b"test part", count: int | None = None
) -> bytes:
    n = len(triangles)
    records = np.zeros(n, np.dtype([("n", "<f4", (3,)), ("v", "<f4", (9,)), ("a", "<u2")]))
    records["v"] = np.asarray(triangles, np.float32).reshape(n, 9)
    return (
        header.ljust(80, b"\0")[:80]
        + struct.pack("<I", n if count is None else count)
        + records.tobytes()
    )


def ascii_stl(triangles: np.ndarray, name: str = "cube", fmt: str = "%e") -> bytes:
    lines = [f"solid {name}"]
    for t in triangles:
        lines += ["  facet normal 0 0 0", "    outer loop"]
        lines += ["      vertex " + " ".join(fmt % c for c in v) for v in t]
        lines += ["    endloop", "  endfacet"]
    lines.append(f"endsolid {name}")
    return ("\n".join(lines) + "\n").encode()


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def assert_cube(g: PartGeometry) -> None:
    assert g.volume_mm3 == pytest.approx(1000.0)
    assert g.area_mm2 == pytest.approx(600.0)
    assert g.bbox_min == (0.0, 0.0, 0.0)
    assert g.bbox_max == (10.0, 10.0, 10.0)
    assert g.size == (10.0, 10.0, 10.0)
    assert g.triangles == 12
    assert g.watertight is True
    assert g.units_hint is None


# --- STL ----------------------------------------------------------------------------------------


def test_binary_cube_measures_volume_area_bbox_and_is_watertight():
    g = analyze_stl([binary_stl(CUBE)])
    assert g.format == "stl-binary"
    assert_cube(g)


def test_ascii_cube_measures_the_same():
    g = analyze_stl([ascii_stl(CUBE)])
    assert g.format == "stl-ascii"
    assert_cube(g)


@pytest.mark.parametrize("size", [1, 7, 50, 83, 84, 4096])
def test_any_chunking_gives_identical_results(size):
    for data in (binary_stl(CUBE), ascii_stl(CUBE)):
        assert analyze_stl(chunked(data, size)) == analyze_stl([data])


def test_a_binary_file_whose_header_starts_with_solid_is_read_as_binary():
    g = analyze_stl([binary_stl(CUBE, header=b"solid cube exported by SolidWorks")])
    assert g.format == "stl-binary"
    assert_cube(g)


def test_ascii_with_digits_in_the_name_uppercase_keywords_and_crlf():
    text = ascii_stl(CUBE, name="part 12 34 56").replace(b"\n", b"\r\n")
    assert_cube(analyze_stl([text]))
    upper = ascii_stl(CUBE, fmt="%.3f").upper().replace(b"SOLID CUBE", "solid 零件 7".encode())
    assert_cube(analyze_stl(chunked(upper, 13)))


def test_ascii_with_several_solids_adds_them_up():
    two = ascii_stl(CUBE, name="a 1") + ascii_stl(CUBE + np.float32(20), name="b 2")
    g = analyze_stl(chunked(two, 100))
    assert g.triangles == 24
    assert g.volume_mm3 == pytest.approx(2000.0)
    assert g.bbox_max == (30.0, 30.0, 30.0)
    assert g.watertight is True


def test_mesh_with_a_missing_face_is_not_watertight():
    g = analyze_stl([binary_stl(CUBE[:-2])])
    assert g.watertight is False
    assert g.triangles == 10


def test_non_manifold_edge_shared_by_four_triangles_is_not_watertight():
    g = analyze_stl([binary_stl(np.concatenate([CUBE, CUBE + np.float32([10, 0, 0])]))])
    assert g.volume_mm3 == pytest.approx(2000.0)
    assert g.watertight is False


def test_watertightness_can_be_skipped():
    assert analyze_stl([binary_stl(CUBE)], check_watertight=False).watertight is None


def test_a_two_millimetre_part_hints_at_inches():
    g = analyze_stl([binary_stl(CUBE / np.float32(5))])
    assert g.size == pytest.approx((2.0, 2.0, 2.0))
    assert g.units_hint == "inch"


def test_to_dict_round_trips_and_is_json_safe():
    import json

    g = analyze_stl([binary_stl(CUBE)])
    data = json.loads(json.dumps(g.to_dict()))
    assert data["size"] == [10.0, 10.0, 10.0]
    assert PartGeometry.from_dict(data) == g


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"\0" * 84, "empty"),  # header declaring 0 triangles, none follow
        (b"solid x\nendsolid x\n", "empty"),
        (binary_stl(CUBE)[:60], "truncated"),  # inside the header
        (binary_stl(CUBE)[:-7], "truncated"),  # inside the last record
        (binary_stl(CUBE)[:-50], "truncated"),  # one whole record missing
        (binary_stl(CUBE, count=13), "truncated"),
        (binary_stl(CUBE) + b"\1" * 60, "malformed"),  # size is not 84 + 50 n
        (ascii_stl(CUBE)[:-60], "truncated"),
        (ascii_stl(CUBE).replace(b"vertex 1.000000e+01", b"vertex ten", 1), "malformed"),
        (
            ascii_stl(CUBE).replace(
                b"      vertex 0.000000e+00 0.000000e+00 0.000000e+00\n", b"", 1
            ),
            "malformed",
        ),
        (b"solid x\n" + b"garbage " * 3_000_000, "malformed"),
        (binary_stl(np.full((12, 3, 3), np.nan, np.float32)), "malformed"),
        (binary_stl(np.zeros((12, 3, 3), np.float32)), "degenerate"),
        (binary_stl(CUBE * np.float32([1, 1, 0])), "degenerate"),  # flattened: no volume
        (binary_stl(CUBE[:1]), "degenerate"),  # one triangle encloses nothing
    ],
)
def test_bad_files_raise_geometry_error_with_a_reason(data, reason):
    with pytest.raises(GeometryError) as caught:
        analyze_stl(chunked(data, 1000))
    assert caught.value.reason_code == reason
    assert reason in REASON_LABELS  # the UI can say why the part went to an engineer


@settings(max_examples=150, deadline=None)
@given(
    base=st.sampled_from([binary_stl(CUBE), ascii_stl(CUBE)]),
    cut=st.integers(0, 2000),
    flips=st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), max_size=8),
    chunk=st.integers(1, 300),
)
def test_any_damaged_file_gives_a_geometry_or_a_geometry_error(base, cut, flips, chunk):
    data = bytearray(base[: len(base) - cut % len(base)])
    for position, value in flips:
        if data:
            data[position % len(data)] = value
    try:
        g = analyze_stl(chunked(bytes(data), chunk))
    except GeometryError as exc:
        assert exc.reason_code in REASON_LABELS
    else:
        assert g.volume_mm3 > 0 and g.area_mm2 > 0


def test_huge_coordinates_are_malformed_not_a_crash():
    with pytest.raises(GeometryError) as caught:
        analyze_stl([binary_stl(CUBE * np.float32(1e37))])
    assert caught.value.reason_code == "malformed"


def test_watertightness_is_not_computed_above_the_triangle_limit(monkeypatch):
    monkeypatch.setattr(mesh_totals, "WATERTIGHT_MAX_TRIANGLES", 10)
    g = analyze_stl([binary_stl(CUBE)])
    assert g.watertight is None
    assert g.volume_mm3 == pytest.approx(1000.0)


def test_a_large_mesh_measures_like_trimesh():
    import trimesh

    mesh = trimesh.creation.icosphere(subdivisions=5, radius=25.0)  # 20480 faces: > one block
    g = analyze_stl(chunked(binary_stl(mesh.triangles), 65536))
    assert g.triangles == len(mesh.faces)
    assert g.volume_mm3 == pytest.approx(mesh.volume, rel=1e-5)
    assert g.area_mm2 == pytest.approx(mesh.area, rel=1e-5)
    assert np.allclose([g.bbox_min, g.bbox_max], mesh.bounds, atol=1e-4)
    assert g.watertight is True


def test_analyze_drawing_dispatches_by_extension_and_refuses_others():
    assert analyze_drawing("Part.STL", [binary_stl(CUBE)]).volume_mm3 == pytest.approx(1000.0)
    with pytest.raises(GeometryError) as caught:
        analyze_drawing("part.sldprt", [b"whatever"])
    assert caught.value.reason_code == "unsupported_format"


# --- STEP / IGES ----------------------------------------------------------------------------------


def _ocp_bytes(kind: str, shape_maker) -> bytes:
    """A STEP/IGES file written by OpenCascade into a memfd, read back as bytes (no disk)."""
    from OCP.IGESControl import IGESControl_Writer
    from OCP.STEPControl import STEPControl_AsIs, STEPControl_Writer

    fd = os.memfd_create("sample")
    try:
        path = f"/proc/self/fd/{fd}"
        if kind == "step":
            writer = STEPControl_Writer()
            writer.Transfer(shape_maker(), STEPControl_AsIs)
            writer.Write(path)
        else:
            writer = IGESControl_Writer("MM", 0)  # faces mode: the reader must sew them
            writer.AddShape(shape_maker())
            writer.ComputeModel()
            writer.Write(path)
        size = os.fstat(fd).st_size
        return os.pread(fd, size, 0)
    finally:
        os.close(fd)


def _box():
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeBox

    return BRepPrimAPI_MakeBox(10.0, 20.0, 30.0).Shape()


@pytest.mark.slow
@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
@pytest.mark.parametrize("kind", ["step", "iges"])
def test_step_and_iges_box_measured_by_opencascade(kind, warm):
    data = _ocp_bytes(kind, _box)
    g = analyze_step(chunked(data, 777), kind=kind, warm=warm)
    assert g.format == kind
    assert g.volume_mm3 == pytest.approx(6000.0, rel=1e-6)
    assert g.area_mm2 == pytest.approx(2200.0, rel=1e-6)
    assert np.allclose(g.bbox_min, (0, 0, 0), atol=1e-6)
    assert np.allclose(g.bbox_max, (10, 20, 30), atol=1e-6)
    assert g.faces == 6
    assert g.solids == 1
    assert g.watertight is True
    tris = g.preview_triangles
    assert tris is not None and tris.shape[1:] == (3, 3) and len(tris) >= 12
    assert tris.min() >= -1e-6 and tris[..., 2].max() == pytest.approx(30.0)


def _drilled_block():
    """60 × 40 × 12 mm with a 6 mm hole through it, moved 100 mm along x by a location."""
    from OCP.BRepAlgoAPI import BRepAlgoAPI_Cut
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeBox, BRepPrimAPI_MakeCylinder
    from OCP.gp import gp_Ax2, gp_Dir, gp_Pnt, gp_Trsf, gp_Vec
    from OCP.TopLoc import TopLoc_Location

    hole = BRepPrimAPI_MakeCylinder(gp_Ax2(gp_Pnt(8, 8, -1), gp_Dir(0, 0, 1)), 3.0, 14.0)
    block = BRepAlgoAPI_Cut(BRepPrimAPI_MakeBox(60.0, 40.0, 12.0).Shape(), hole.Shape()).Shape()
    move = gp_Trsf()
    move.SetTranslation(gp_Vec(100, 0, 0))
    return block.Moved(TopLoc_Location(move))


@pytest.mark.slow
@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
@pytest.mark.parametrize("kind", ["step", "iges"])
def test_the_exact_measures_come_first_and_the_mesh_encloses_the_same_volume(kind, warm):
    """`on_brep` gets what the price needs before the mesh; the mesh then follows, outward and in
    place, so the triangles' signed volume is the B-rep's within the tessellation's sag."""
    early = []
    g = analyze_step([_ocp_bytes(kind, _drilled_block)], kind=kind, warm=warm, on_brep=early.append)
    assert len(early) == 1
    first = early[0]
    assert first.preview_triangles is None and first.triangles is None
    assert first.to_dict() == {**g.to_dict(), "triangles": None}
    assert first.volume_mm3 == pytest.approx(60 * 40 * 12 - np.pi * 9 * 12, rel=1e-4)
    tris = g.preview_triangles.astype(np.float64)
    assert len(tris) == g.triangles and g.viewer_triangles is g.preview_triangles
    signed = np.einsum("ij,ij->i", tris[:, 0], np.cross(tris[:, 1], tris[:, 2])).sum() / 6
    assert signed == pytest.approx(g.volume_mm3, rel=2e-3)
    assert np.allclose(tris.reshape(-1, 3).min(axis=0), (100, 0, 0), atol=1e-3)
    assert np.allclose(tris.reshape(-1, 3).max(axis=0), (160, 40, 12), atol=1e-3)


@pytest.mark.slow
def test_no_early_measures_for_a_file_that_cannot_be_read():
    early = []
    with pytest.raises(GeometryError) as caught:
        analyze_step([b"ISO-10303-21;\nnot really\n" * 50], on_brep=early.append)
    assert caught.value.reason_code == "unreadable" and early == []


@pytest.mark.slow
def test_step_preview_mesh_is_capped():
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeSphere

    data = _ocp_bytes("step", lambda: BRepPrimAPI_MakeSphere(50.0).Shape())
    g = analyze_step([data], preview_limit=100)
    assert g.volume_mm3 == pytest.approx(4 / 3 * np.pi * 50**3, rel=1e-4)
    assert g.triangles > 100
    assert 0 < len(g.preview_triangles) <= 100


@pytest.mark.slow
@pytest.mark.parametrize("data", [b"this is not a STEP file\n" * 50, os.urandom(5000)])
def test_garbage_step_is_unreadable(data):
    with pytest.raises(GeometryError) as caught:
        analyze_step([data])
    assert caught.value.reason_code == "unreadable"


def test_empty_step_is_empty():
    with pytest.raises(GeometryError) as caught:
        analyze_step([b""])
    assert caught.value.reason_code == "empty"


@pytest.mark.slow
def test_cold_step_child_is_killed_after_the_timeout():
    # the cold child cannot even import OpenCascade in 10 ms, so the timeout must fire
    # (the warm process's children: tests/unit/test_warm_step.py)
    data = _ocp_bytes("step", _box)
    with pytest.raises(GeometryError) as caught:
        analyze_step([data], timeout=0.01, warm=False)
    assert caught.value.reason_code == "timeout"
    assert not _my_step_workers()


def _my_step_workers() -> list[int]:
    """Children of this process still running the OpenCascade worker."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if ppid == os.getpid() and b"step_worker.py" in cmdline:
            found.append(int(pid))
    return found


# --- read-ahead -----------------------------------------------------------------------------------


def test_errors_from_the_source_reach_the_caller_unchanged():
    class CorruptBlob(Exception):
        pass

    def source():
        yield binary_stl(CUBE)[:100]
        raise CorruptBlob("segment failed authentication")

    with pytest.raises(CorruptBlob):
        analyze_stl(source())


def test_the_source_is_closed_when_analysis_stops_early():
    closed = []

    def source():
        try:
            yield b"solid x\n  facet normal 0 0 0\n    outer loop\n      vertex 1 2\n"
            yield b"    endloop\n  endfacet\n" * 10
            while True:  # would never end if nobody closed us
                yield b" " * 65536
        finally:
            closed.append(True)

    with pytest.raises(GeometryError):
        analyze_stl(source())
    assert closed == [True]


def test_prefetch_gives_the_same_answer():
    data = binary_stl(CUBE)
    assert analyze_stl(chunked(data, 9), prefetch=False) == analyze_stl(chunked(data, 9))
