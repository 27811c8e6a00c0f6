"""Manufacturability feedback from generated parts: measured once from the STL, judged per process."""

from __future__ import annotations

import copy
import json
import struct

import numpy as np
import pytest
import trimesh
from flask_babel import force_locale

from xometry_site.services.quotes import dfm, dfm_measure, mesh_rays
from xometry_site.services.quotes.preview import analyze_stl_with_preview
from xometry_site.services.quotes.pricing_rules import load_rules, validate_rules


def box(x: float, y: float, z: float, n: int = 1, at=(0.0, 0.0, 0.0)) -> np.ndarray:
    """A closed box, outward winding, each face an n×n grid of quads (two triangles each)."""
    s = np.linspace(0.0, 1.0, n + 1)
    faces = []

    def face(origin, u, v):
        o, u, v = (np.asarray(a, float) for a in (origin, u, v))
        p = o + s[:, None, None] * u + s[None, :, None] * v
        a, b, c, d = p[:-1, :-1], p[1:, :-1], p[1:, 1:], p[:-1, 1:]
        faces.append(np.stack([a, b, c], -2).reshape(-1, 3, 3))
        faces.append(np.stack([a, c, d], -2).reshape(-1, 3, 3))

    dx, dy, dz = (x, 0, 0), (0, y, 0), (0, 0, z)
    face((0, 0, 0), dy, dx)  # bottom
    face((0, 0, z), dx, dy)  # top
    face((0, 0, 0), dx, dz)  # front
    face((0, y, 0), dz, dx)  # back
    face((0, 0, 0), dz, dy)  # left
    face((x, 0, 0), dy, dz)  # right
    return np.concatenate(faces) + np.asarray(at, float)


def binary_stl(triangles: np.ndarray) -> bytes:
    n = len(triangles)
    records = np.zeros(n, np.dtype([("n", "<f4", (3,)), ("v", "<f4", (9,)), ("a", "<u2")]))
    records["v"] = np.asarray(triangles, np.float32).reshape(n, 9)
    return b"generated part".ljust(80, b"\0") + struct.pack("<I", n) + records.tobytes()


def analysed(triangles: np.ndarray) -> dict:
    """The drawing's geometry as analyse_drawing stores it: read from a real binary STL."""
    geometry = analyze_stl_with_preview([binary_stl(triangles)])
    return {**geometry.to_dict(), "dfm": dfm.measure_geometry(geometry)}


def judged(geometry: dict, process: str = "cnc_machining", material: str | None = None):
    found = dfm.findings(geometry, process, load_rules(), material)
    return {f.code: f for f in found}


def serious(found: dict) -> dict:
    return {code: f.severity for code, f in found.items() if f.severity != "info"}


RULES = load_rules()
INSTANT = [pid for pid, p in RULES["processes"].items() if p.get("instant")]
PLATE = analysed(box(40, 40, 0.3, n=4))
BAR = analysed(box(900, 20, 20))
BLOCK = analysed(box(40, 40, 40, n=8))
INCH_CUBE = analysed(box(1, 1, 1))


# --- the generated parts of the issue -----------------------------------------------------------


def test_a_0_3_mm_plate_is_measured_0_3_mm_thick_and_sent_to_review_for_cnc():
    walls = PLATE["dfm"]["walls"]
    assert walls["measured"] is True
    assert walls["thickness_mm"]["p1"] == pytest.approx(0.3, abs=1e-3)
    assert walls["thickness_mm"]["p50"] == pytest.approx(0.3, abs=1e-3)
    found = judged(PLATE)
    assert found["thin_walls"].severity == "review"  # under half of CNC's 0.8 mm
    assert found["thin_walls"].values == {"thickness": 0.3, "minimum": 0.8}
    assert dfm.needs_review(list(found.values()))


def test_a_0_6_mm_plate_is_a_warning_for_cnc_and_fine_for_sla():
    plate = analysed(box(40, 40, 0.6, n=4))
    assert judged(plate)["thin_walls"].severity == "warning"
    assert "thin_walls" not in judged(plate, "sla")  # resin makes 0.5 mm walls


def test_plastics_on_cnc_need_thicker_walls_than_metals():
    plate = analysed(box(40, 40, 0.9, n=4))
    assert "thin_walls" not in judged(plate, "cnc_machining", "al6061")
    assert judged(plate, "cnc_machining", "pom")["thin_walls"].values["minimum"] == 1.0


def test_a_900_mm_bar_is_too_large_for_cnc():
    found = judged(BAR)
    assert found["too_large_for_process"].severity == "review"
    assert found["too_large_for_process"].values["size"] == [900.0, 20.0, 20.0]
    assert "thin_walls" not in found and "small_features" not in found
    # sheet metal's bed takes 1200 mm, but a solid 20 mm bar is not sheet
    sheet = judged(BAR, "sheet_metal")
    assert "too_large_for_process" not in sheet
    assert sheet["walls_too_thick"].severity == "review"


def test_an_open_mesh_is_not_watertight_and_goes_to_review():
    open_box = box(30, 30, 30, n=2)[:-2]  # one face loses two of its triangles
    geometry = analysed(open_box)
    assert geometry["watertight"] is False
    found = judged(geometry)
    assert found["not_watertight"].severity == "review"


def test_a_one_inch_cube_saved_in_inches_asks_about_the_units_and_nothing_else():
    assert INCH_CUBE["units_hint"] == "inch"
    found = judged(INCH_CUBE)
    assert serious(found) == {"maybe_inches": "warning"}
    assert found["maybe_inches"].values == {"size": 1.0, "inches": 25.4}


@pytest.mark.parametrize("process", INSTANT)
def test_a_healthy_40_mm_block_has_no_warning_or_review(process):
    if process == "sheet_metal":
        assert serious(judged(BLOCK, process)) == {"walls_too_thick": "review"}
    else:
        assert serious(judged(BLOCK, process)) == {}


def test_a_2_mm_sheet_part_is_fine_for_sheet_metal():
    sheet = analysed(box(120, 80, 2, n=6))
    assert serious(judged(sheet, "sheet_metal")) == {}


# --- messages -----------------------------------------------------------------------------------


def test_messages_are_sentences_with_the_numbers_in_both_languages(app):
    found = judged(PLATE) | judged(BAR) | judged(INCH_CUBE)
    with app.test_request_context("/"):
        with force_locale("en"):
            english = {code: f.to_dict() for code, f in found.items()}
        with force_locale("zh_CN"):
            chinese = {code: str(f.message) for code, f in found.items()}
    assert english["thin_walls"] == {
        "code": "thin_walls",
        "severity": "review",
        "message": "Walls as thin as 0.3 mm; CNC machining needs at least 0.8 mm.",
    }
    assert english["too_large_for_process"]["message"] == (
        "The part measures 900 × 20 × 20 mm; CNC machining takes parts up to 800 × 500 × 400 mm."
    )
    assert "25.4 mm" in english["maybe_inches"]["message"]
    assert "CNC 数控加工" in chinese["thin_walls"] and "0.3" in chinese["thin_walls"]
    assert "0.8" in chinese["thin_walls"]
    assert "900 × 20 × 20" in chinese["too_large_for_process"]
    assert "25.4" in chinese["maybe_inches"] and "英寸" in chinese["maybe_inches"]
    for code, message in chinese.items():
        assert message != english[code]["message"], code
    with app.test_request_context("/?lang=en"):  # the page's own language, as the views see it
        assert str(found["thin_walls"].message).startswith("Walls as thin as")


def test_every_code_has_a_sentence_and_a_known_severity(app):
    produced = set()
    parts = [PLATE, BAR, BLOCK, INCH_CUBE, analysed(box(30, 30, 30, n=2)[:-2])]
    for part in parts:
        for process in RULES["processes"]:
            for f in dfm.findings(part, process, RULES):
                produced.add(f.code)
                assert f.code in dfm.DFM_LABELS
                assert f.severity in dfm.SEVERITIES
                with app.test_request_context("/"), force_locale("en"):
                    assert "%(" not in str(f.message)
    assert produced >= {
        "thin_walls",
        "too_large_for_process",
        "not_watertight",
        "maybe_inches",
        "walls_too_thick",
    }


# --- what the measurement finds -----------------------------------------------------------------


def test_a_hole_narrower_than_the_process_can_make_is_a_small_feature():
    tube = trimesh.creation.annulus(r_min=0.2, r_max=5, height=10, sections=32)
    geometry = analysed(tube.triangles)
    assert geometry["dfm"]["walls"]["narrowest_gaps_mm"][0] == pytest.approx(0.4, abs=0.01)
    found = judged(geometry)
    assert found["small_features"].severity == "warning"
    assert found["small_features"].values["minimum"] == 0.5
    assert "thin_walls" not in found  # the wall around the hole is 4.8 mm
    wider = analysed(trimesh.creation.annulus(r_min=1.0, r_max=5, height=10).triangles)
    assert "small_features" not in judged(wider)


def test_a_gap_between_two_bodies_is_measured_across_the_air():
    pair = np.concatenate([box(10, 10, 10), box(10, 10, 10, at=(10.3, 0, 0))])
    gaps = analysed(pair)["dfm"]["walls"]["narrowest_gaps_mm"]
    assert gaps and gaps[0] == pytest.approx(0.3, abs=1e-3)


def test_overlapping_bodies_are_self_intersecting_though_every_edge_is_shared():
    overlap = np.concatenate([box(10, 10, 10, n=3), box(10, 10, 10, n=3, at=(5.3, 5.7, 4.1))])
    geometry = analysed(overlap)
    assert geometry["watertight"] is True  # each box is closed: the edge check cannot tell
    assert geometry["dfm"]["self_intersection"]["checked"] == "all"
    assert geometry["dfm"]["self_intersection"]["crossing_edges"] > 0
    assert judged(geometry)["self_intersecting"].severity == "review"
    touching = analysed(np.concatenate([box(10, 10, 10), box(10, 10, 10, at=(10, 0, 0))]))
    assert touching["dfm"]["self_intersection"]["crossing_edges"] == 0


def test_a_mesh_wound_inside_out_measures_the_same():
    inside_out = analysed(box(40, 40, 0.3, n=4)[:, ::-1])
    assert inside_out["dfm"]["walls"]["thickness_mm"] == PLATE["dfm"]["walls"]["thickness_mm"]
    assert inside_out["dfm"]["walls"]["inconsistent_share"] == 0


def test_faces_pointing_the_wrong_way_are_reported():
    plate = box(40, 40, 2, n=10)
    flipped = np.random.default_rng(3).random(len(plate)) < 0.3
    plate[flipped] = plate[flipped][:, ::-1]
    geometry = analysed(plate)
    assert geometry["dfm"]["walls"]["inconsistent_share"] > dfm.INCONSISTENT_SHARE
    assert judged(geometry)["inconsistent_faces"].severity == "review"


@pytest.mark.parametrize("large_span", [mesh_rays.LARGE_SPAN, 1])
def test_the_grid_finds_the_same_nearest_surfaces_as_testing_every_triangle(
    monkeypatch, large_span
):
    monkeypatch.setattr(mesh_rays, "LARGE_SPAN", large_span)  # 1: every triangle paired by box
    rng = np.random.default_rng(5)
    soup = np.concatenate(
        [rng.random((300, 3, 3)) * 30, rng.random((100, 1, 3)) * 30 + rng.random((100, 3, 3))]
    )
    mesh = mesh_rays.Mesh(soup)
    grid = mesh_rays.Grid.build(mesh, 20.0, 16 * len(mesh))
    which = rng.integers(0, len(mesh), 200)
    origins = soup[which].mean(axis=1)
    directions = rng.normal(size=(200, 3))
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    got, cast, _ = mesh_rays.nearest_along_lines(
        mesh, grid, origins, directions, 10.0, which, 10**9, 1e-6
    )
    assert cast == 200
    everything = mesh_rays.Grid.build(mesh, 1e9, 10**9)  # one cell: every triangle is a candidate
    assert len(everything.keys) == 1 and not len(everything.large)
    want, _, _ = mesh_rays.nearest_along_lines(
        mesh, everything, origins, directions, 10.0, which, 10**9, 1e-6
    )
    for side in ("ahead", "behind", "ahead_exit", "behind_facing"):
        assert np.array_equal(got[side], want[side]), side
    assert np.isfinite(got["ahead"]).sum() > 50  # the lines do meet the soup


def test_measuring_is_deterministic_and_json_safe():
    again = analysed(box(40, 40, 0.3, n=4))
    assert again == PLATE
    assert json.loads(json.dumps(PLATE)) == PLATE
    assert PLATE["dfm"]["method"] == dfm.METHOD


def test_a_dense_mesh_stays_within_the_test_budgets():
    dense = dfm.measure(box(40, 40, 0.3, n=60).astype(np.float32), True)
    assert dense["triangles"] == 6 * 60 * 60 * 2
    assert dense["walls"]["tests"] <= dfm_measure.RAY_BUDGET
    assert dense["self_intersection"]["tests"] <= dfm_measure.EDGE_BUDGET
    assert dense["walls"]["thickness_mm"]["p1"] == pytest.approx(0.3, abs=1e-3)


def test_a_sampled_or_huge_mesh_is_not_measured_and_says_why():
    sampled = dfm.measure(box(40, 40, 0.3, n=4), complete=False)
    assert sampled["walls"] == {"measured": False, "reason": "sampled_mesh"}
    found = judged({**PLATE, "dfm": sampled})
    assert found["walls_not_checked"].severity == "info"
    assert "thin_walls" not in found
    huge = np.zeros((dfm_measure.MAX_TRIANGLES + 1, 3, 3), np.float32)
    assert dfm.measure(huge, True)["walls"]["reason"] == "too_many_triangles"


def test_only_a_whole_mesh_counts_as_complete():
    geometry = analyze_stl_with_preview([binary_stl(box(40, 40, 0.3, n=4))], limit=50)
    assert len(geometry.preview_triangles) == 50 < geometry.triangles
    assert dfm.measure_geometry(geometry)["walls"]["reason"] == "sampled_mesh"


def test_a_failing_measurement_is_recorded_not_raised(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(dfm_measure, "_walls", broken)
    geometry = analyze_stl_with_preview([binary_stl(box(10, 10, 10))])
    record = dfm.measure_geometry(geometry)
    assert record["walls"] == {"measured": False, "reason": "error"}
    assert "quote.dfm_failed" in caplog.text


# --- old records and rules ----------------------------------------------------------------------


def test_drawings_measured_before_dfm_still_get_envelope_watertight_and_units_findings():
    old_bar = {k: v for k, v in BAR.items() if k != "dfm"}
    assert set(judged(old_bar)) == {"too_large_for_process"}
    old_inch = {k: v for k, v in INCH_CUBE.items() if k not in ("dfm", "size", "units_hint")}
    assert set(judged(old_inch)) == {"maybe_inches"}  # from the bounding box alone
    old_open = {**{k: v for k, v in BLOCK.items() if k != "dfm"}, "watertight": False}
    assert set(judged(old_open)) == {"not_watertight"}
    assert judged({k: v for k, v in BLOCK.items() if k != "dfm"}) == {}
    assert dfm.findings(None, "cnc_machining", RULES) == []  # not measured: reviewed anyway


def test_findings_do_not_change_the_stored_geometry_or_the_rules():
    geometry, rules = copy.deepcopy(PLATE), copy.deepcopy(RULES)
    dfm.findings(geometry, "cnc_machining", rules, "pom")
    assert geometry == PLATE and rules == RULES


def test_shipped_rules_give_every_instant_process_a_wall_and_detail_minimum():
    for pid in INSTANT:
        process = RULES["processes"][pid]
        assert process["min_wall_mm"] > 0 and process["min_feature_mm"] > 0, pid
    assert RULES["processes"]["sheet_metal"]["max_wall_mm"] > 0


@pytest.mark.parametrize(
    ("where", "value", "problem"),
    [
        ("process", {"min_wall_mm": 0}, "processes.sla.min_wall_mm is out of range"),
        ("process", {"min_feature_mm": "thin"}, "processes.sla.min_feature_mm is not a number"),
        ("process", {"max_wall_mm": 0.2}, "processes.sla.max_wall_mm is below min_wall_mm"),
        ("material", {"min_wall_mm": -1}, "min_wall_mm is out of range"),
    ],
)
def test_rules_validation_refuses_bad_manufacturability_limits(where, value, problem):
    rules = copy.deepcopy(RULES)
    target = rules["processes"]["sla"]
    if where == "material":
        target = target["materials"]["resin_standard"]
    target.update(value)
    assert any(p.endswith(problem) for p in validate_rules(rules)), validate_rules(rules)
    assert validate_rules(RULES) == []


@pytest.mark.slow
def test_a_step_box_is_measured_through_its_tessellation():
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeBox
    from test_geometry import _ocp_bytes

    from xometry_site.services.quotes.step_reader import analyze_step

    data = _ocp_bytes("step", lambda: BRepPrimAPI_MakeBox(30.0, 20.0, 0.4).Shape())
    geometry = analyze_step([data], kind="step")
    record = dfm.measure_geometry(geometry)
    assert record["complete"] is True
    assert record["walls"]["thickness_mm"]["p1"] == pytest.approx(0.4, abs=1e-3)
    found = judged({**geometry.to_dict(), "dfm": record}, "sla")
    assert found["thin_walls"].severity == "warning"  # SLA needs 0.5 mm
