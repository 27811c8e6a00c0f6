"""Manufacturability measurement time against parsing the same STL, and the cost of judging it.

    .venv/bin/python benchmarks/dfm.py [--triangles 20000] [--runs 7]

For generated parts of about `--triangles` triangles (a 1 MB binary STL at 20,000) — a torus
(smooth: every edge is a feature edge, so the self-intersection check works hardest), a 40 mm
block and a 0.3 mm plate (every ray meets the far wall at once) — and, when OpenCascade is
installed, a plate with twelve holes as CAD tessellates it (long sliver triangles) — prints the time to
analyse the STL as an upload does (parse, volume, watertightness, preview sample), the time of
`dfm.measure` on the triangles that analysis kept, their ratio, and the time of `dfm.findings`
(which runs on every live reprice). Goal, printed PASS or MISS: measure under 0.2 s per part,
judged on CPU time (the best of `--runs`): on this shared machine other work stretches the wall
time, which is printed too (best of `--runs` round-robin runs, from bytes in memory).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from geometry import best_of, torus_triangles  # noqa: E402

from xometry_site.services.quotes import dfm  # noqa: E402
from xometry_site.services.quotes.preview import analyze_stl_with_preview  # noqa: E402
from xometry_site.services.quotes.pricing import load_rules  # noqa: E402

GOAL_SECONDS = 0.2
FINDINGS_CALLS = 2_000


def box_triangles(x: float, y: float, z: float, n: int) -> np.ndarray:
    """A closed box whose faces are n×n grids of quads, outward winding, (12 n², 3, 3)."""
    s = np.linspace(0.0, 1.0, n + 1)
    faces = []
    for origin, u, v in (
        ((0, 0, 0), (0, y, 0), (x, 0, 0)),
        ((0, 0, z), (x, 0, 0), (0, y, 0)),
        ((0, 0, 0), (x, 0, 0), (0, 0, z)),
        ((0, y, 0), (0, 0, z), (x, 0, 0)),
        ((0, 0, 0), (0, 0, z), (0, y, 0)),
        ((x, 0, 0), (0, y, 0), (0, 0, z)),
    ):
        o, du, dv = (np.asarray(a, float) for a in (origin, u, v))
        p = o + s[:, None, None] * du + s[None, :, None] * dv
        a, b, c, d = p[:-1, :-1], p[1:, :-1], p[1:, 1:], p[:-1, 1:]
        faces += [np.stack([a, b, c], -2).reshape(-1, 3, 3)]
        faces += [np.stack([a, c, d], -2).reshape(-1, 3, 3)]
    return np.concatenate(faces).astype(np.float32)


def cad_plate_triangles() -> np.ndarray | None:
    """A 120×80×20 mm plate with twelve 3 mm holes, tessellated by OpenCascade as on upload."""
    try:
        from OCP.BRep import BRep_Tool
        from OCP.BRepAlgoAPI import BRepAlgoAPI_Cut
        from OCP.BRepMesh import BRepMesh_IncrementalMesh
        from OCP.BRepPrimAPI import BRepPrimAPI_MakeBox, BRepPrimAPI_MakeCylinder
        from OCP.gp import gp_Ax2, gp_Dir, gp_Pnt
        from OCP.TopAbs import TopAbs_FACE, TopAbs_REVERSED
        from OCP.TopExp import TopExp_Explorer
        from OCP.TopLoc import TopLoc_Location
        from OCP.TopoDS import TopoDS
    except ImportError:
        return None
    shape = BRepPrimAPI_MakeBox(120.0, 80.0, 20.0).Shape()
    for i in range(12):
        axis = gp_Ax2(gp_Pnt(10 + (i % 6) * 20, 15 + (i // 6) * 50, -1), gp_Dir(0, 0, 1))
        shape = BRepAlgoAPI_Cut(shape, BRepPrimAPI_MakeCylinder(axis, 1.5, 30).Shape()).Shape()
    BRepMesh_IncrementalMesh(shape, 146.0 * 2e-3, False, 0.35, True)  # as step_worker does
    out = []
    faces = TopExp_Explorer(shape, TopAbs_FACE)
    while faces.More():
        face = TopoDS.Face(faces.Current())
        mesh = BRep_Tool.Triangulation_s(face, TopLoc_Location())
        nodes = np.array([mesh.Node(i).Coord() for i in range(1, mesh.NbNodes() + 1)])
        for t in range(1, mesh.NbTriangles() + 1):
            a, b, c = mesh.Triangle(t).Get()
            if face.Orientation() == TopAbs_REVERSED:
                b, c = c, b
            out.append(nodes[[a - 1, b - 1, c - 1]])
        faces.Next()
    return np.array(out, np.float32)


def binary_stl(tris: np.ndarray) -> bytes:
    records = np.zeros(len(tris), np.dtype([("n", "<f4", 3), ("v", "<f4", 9), ("a", "<u2")]))
    records["v"] = tris.reshape(-1, 9)
    header = b"benchmark part".ljust(80, b"\0") + len(tris).to_bytes(4, "little")
    return header + records.tobytes()


def _cpu(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triangles", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    n = max(1, round((args.triangles / 12) ** 0.5))
    parts = {
        "torus": torus_triangles(args.triangles),
        "block 40 mm": box_triangles(40, 40, 40, n),
        "plate 0.3 mm": box_triangles(40, 40, 0.3, n),
    }
    cad = cad_plate_triangles()
    if cad is not None:
        parts["CAD, 12 holes"] = cad
    rules = load_rules()
    print(
        f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} CPUs; "
        f"best of {args.runs} runs\n"
    )
    print(
        f"{'part':<14}{'triangles':>10}{'STL MB':>8}{'parse ms':>10}{'measure ms':>12}"
        f"{'ratio':>7}{'CPU ms':>8}{'findings µs':>13}  goal"
    )
    ok = True
    for name, tris in parts.items():
        data = binary_stl(tris)
        geometry = analyze_stl_with_preview([data])
        stored = {**geometry.to_dict(), "dfm": dfm.measure_geometry(geometry)}
        best = best_of(
            {
                "parse": lambda data=data: analyze_stl_with_preview([data]),
                "measure": lambda g=geometry: dfm.measure_geometry(g),
            },
            args.runs,
        )
        start = time.perf_counter()
        for _ in range(FINDINGS_CALLS):
            dfm.findings(stored, "cnc_machining", rules, "al6061")
        judge = (time.perf_counter() - start) / FINDINGS_CALLS
        cpu = min(_cpu(lambda g=geometry: dfm.measure_geometry(g)) for _ in range(args.runs))
        t_parse, t_measure = best["parse"][0], best["measure"][0]
        met = cpu < GOAL_SECONDS
        ok &= met
        print(
            f"{name:<14}{len(tris):>10,}{len(data) / 1e6:>8.2f}{t_parse * 1e3:>10.1f}"
            f"{t_measure * 1e3:>12.1f}{t_measure / t_parse:>7.1f}{cpu * 1e3:>8.1f}{judge * 1e6:>13.1f}"
            f"  {'PASS' if met else 'MISS'} (< {GOAL_SECONDS * 1e3:.0f} ms)"
        )
        walls, crossing = stored["dfm"]["walls"], stored["dfm"]["self_intersection"]
        print(
            f"{'':<14}rays {walls['samples']:,} ({walls['tests']:,} triangle tests), "
            f"thickness p1 {walls['thickness_mm']['p1']} mm; edges checked "
            f"{crossing['edges_checked']:,} of {crossing['feature_edges']:,} feature edges "
            f"({crossing['tests']:,} tests, {crossing['checked']})"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
