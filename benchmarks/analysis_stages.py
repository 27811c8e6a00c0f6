"""CPU time of each stage of a drawing's analysis, before the price and after it, in-process.

    .venv/bin/python benchmarks/analysis_stages.py [--runs 3]

The drawings are quote_latency.py's (a 1 MB STL torus; a 19 KB STEP block; a heat sink of ~500
faces as STEP and as IGES faces to sew). Each stage runs the same functions as the analysis
(step_worker's read, sew, B-rep measures and tessellation; dfm_measure, the preview renderer,
the viewer mesh encoder), here in this process, so the figures leave out the job's round trip
and the page. CPU time (user + system of this process, OpenCascade's mesher threads included)
hardly depends on what else runs on the machine; the wall time and the load average are printed
beside it. Figures are the median of --runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import quote_latency

from xometry_site.services.quotes import dfm_measure, preview, step_worker, viewer_mesh
from xometry_site.services.quotes.step_reader import _geometry_from_worker


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Stages:
    """Named stages in order, each with its CPU and wall seconds."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, float, float]] = []

    def run(self, phase: str, name: str, func: Callable[..., Any], *args: Any) -> Any:
        wall, used = time.perf_counter(), cpu()
        out = func(*args)
        self.rows.append((phase, name, cpu() - used, time.perf_counter() - wall))
        return out


def cad_stages(kind: str, data: bytes) -> Stages:
    """What the OpenCascade child and then the job do with a STEP or IGES drawing."""
    from OCP.TopAbs import TopAbs_SOLID

    stages = Stages()
    fd = os.memfd_create("drawing")
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    saved_in, saved_out = os.dup(0), os.dup(1)
    os.dup2(fd, 0)  # step_worker reads /proc/self/fd/0
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # OpenCascade's chatter
    try:
        shape = stages.run("price", "read and transfer", step_worker.read_shape, kind)
        if step_worker.count(shape, TopAbs_SOLID) == 0:
            shape = stages.run("price", "sew", step_worker.sew_into_solids, shape)
        report = stages.run("price", "B-rep measures", brep_measures, shape)
        lo, hi = report["bbox_min"], report["bbox_max"]
        total, mesh = stages.run(
            "after", "tessellate", step_worker.tessellate, shape, lo, hi, 200_000
        )
    finally:
        os.dup2(saved_in, 0)
        os.dup2(saved_out, 1)
        os.close(fd)
    report.update(tessellated_triangles=total, mesh_triangles=len(mesh) // 36)
    geometry = _geometry_from_worker(json.dumps(report).encode() + b"\n" + mesh, kind)
    job_stages(stages, geometry)
    return stages


def brep_measures(shape: Any) -> dict[str, Any]:
    """step_worker.measure's box, volume, area and closed check, on a shape already read."""
    from OCP.Bnd import Bnd_Box
    from OCP.BRep import BRep_Tool
    from OCP.BRepBndLib import BRepBndLib
    from OCP.BRepGProp import BRepGProp
    from OCP.GProp import GProp_GProps
    from OCP.TopAbs import TopAbs_FACE, TopAbs_SHELL, TopAbs_SOLID

    box = Bnd_Box()
    BRepBndLib.AddOptimal_s(shape, box, False, False)
    volume, area = GProp_GProps(), GProp_GProps()
    BRepGProp.VolumeProperties_s(shape, volume)
    BRepGProp.SurfaceProperties_s(shape, area)
    shells = list(step_worker.explore(shape, TopAbs_SHELL))
    return {
        "volume": abs(volume.Mass()),
        "area": area.Mass(),
        "bbox_min": list(box.CornerMin().Coord()),
        "bbox_max": list(box.CornerMax().Coord()),
        "faces": step_worker.count(shape, TopAbs_FACE),
        "solids": step_worker.count(shape, TopAbs_SOLID),
        "closed": all(BRep_Tool.IsClosed_s(s) for s in shells),
    }


def stl_stages(data: bytes) -> Stages:
    stages = Stages()
    geometry = stages.run("price", "parse and sample", preview.analyze_stl_with_preview, [data])
    job_stages(stages, geometry)
    return stages


def job_stages(stages: Stages, geometry: Any) -> None:
    """What the job does after the price: DFM readings, the preview PNG, the 3D viewer's mesh."""
    stages.run("after", "DFM readings", dfm_measure.measure_geometry, geometry)
    stages.run("after", "preview PNG", preview.preview_png, geometry)
    if geometry.viewer_triangles is not None:
        stages.run("after", "viewer mesh", viewer_mesh.encode, geometry.viewer_triangles)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"2 CPUs shared; load average {os.getloadavg()[0]:.1f} at the start")
    for drawing in quote_latency.drawings():
        runs = [
            stl_stages(drawing.data)
            if drawing.kind == "stl"
            else cad_stages(drawing.kind, drawing.data)
            for _ in range(args.runs)
        ]
        print(f"\n{drawing.label} ({drawing.size_text}): CPU s (wall s), median of {args.runs}")
        for phase in ("price", "after"):
            totals_cpu, totals_wall = [], []
            for i, (row_phase, name, _, _) in enumerate(runs[0].rows):
                if row_phase != phase:
                    continue
                used = statistics.median(r.rows[i][2] for r in runs)
                wall = statistics.median(r.rows[i][3] for r in runs)
                print(f"  {phase:5} {name:20} {used:6.3f} ({wall:.3f})")
            for r in runs:
                totals_cpu.append(sum(row[2] for row in r.rows if row[0] == phase))
                totals_wall.append(sum(row[3] for row in r.rows if row[0] == phase))
            label = "to the price" if phase == "price" else "after the price"
            print(
                f"  {'':5} {label:20} {statistics.median(totals_cpu):6.3f}"
                f" ({statistics.median(totals_wall):.3f})"
            )
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
