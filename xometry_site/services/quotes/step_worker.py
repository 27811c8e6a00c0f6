"""Measures a STEP or IGES drawing with OpenCascade, in a process of its own (see step_reader).

Cold: run as a script, `python -I step_worker.py KIND PREVIEW_LIMIT MEMORY_LIMIT` with the
drawing as stdin (an in-memory memfd, opened by path as /proc/self/fd/0). Writes to the original
stdout first the B-rep line as soon as the exact B-rep numbers are known (`stage_line`: JSON with
"stage": "brep", enough to price the part), then the answer: one JSON line, then
`mesh_triangles` × 9 float32 preview coordinates; OpenCascade's own chatter is sent to
/dev/null. Warm: step_server.py loads this file, imports `OCP_MODULES` once and calls `measured`
and `write` in a child forked per drawing, with the drawing as fd 0 too and the B-rep line sent
down a pipe of its own (`early_to`). Kept free of the web package so it starts fast and alone.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import resource
import sys
from collections.abc import Callable
from typing import Any

DRAWING = "/proc/self/fd/0"
LATER_NICENESS = 5  # once the price is out, the tessellation yields to other drawings' readers
# Every module `measure` imports: the warm process imports them before it forks (a test checks
# that a warm child imports nothing more).
OCP_MODULES = (
    "numpy",
    "OCP.Bnd",
    "OCP.BRep",
    "OCP.BRepBndLib",
    "OCP.BRepBuilderAPI",
    "OCP.BRepGProp",
    "OCP.BRepMesh",
    "OCP.GProp",
    "OCP.IFSelect",
    "OCP.IGESControl",
    "OCP.STEPControl",
    "OCP.StlAPI",
    "OCP.TopAbs",
    "OCP.TopExp",
    "OCP.TopoDS",
)


def main(argv: list[str]) -> int:
    kind, preview_limit, memory_limit = argv[1], int(argv[2]), int(argv[3])
    out = os.fdopen(os.dup(1), "wb")

    def early(report: dict[str, Any]) -> None:
        out.write(stage_line(report))
        out.flush()

    write(out, *measured(kind, preview_limit, memory_limit, early))
    return 0


Early = Callable[[dict[str, Any]], None]


def measured(
    kind: str, preview_limit: int, memory_limit: int, early: Early | None = None
) -> tuple[dict[str, Any], bytes]:
    """Cap the address space, silence OpenCascade's stdout, measure; a failure is a report too.

    `early` gets the B-rep numbers before the tessellation starts (not called on a failure)."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    try:
        return measure(kind, preview_limit, early)
    except MemoryError:
        return {"error": "too_complex", "message": "out of memory"}, b""
    except Exception as exc:  # the CAD kernel raises many types; all mean "cannot read"
        return {"error": "unreadable", "message": f"{type(exc).__name__}: {exc}"}, b""


def stage_line(report: dict[str, Any]) -> bytes:
    """The B-rep line: volume, area, box, faces, solids, closed; no mesh yet."""
    return json.dumps({"stage": "brep", **report}).encode() + b"\n"


def early_to(fd: int) -> Early:
    """A warm child's `early`: the B-rep line down the pipe `fd`, closed at once (EOF: sent)."""

    def send(report: dict[str, Any]) -> None:
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(stage_line(report))

    return send


def write(out: Any, report: dict[str, Any], mesh: bytes) -> None:
    """The answer step_reader parses: one JSON line, then the preview mesh."""
    out.write(json.dumps(report).encode() + b"\n" + mesh)
    out.flush()


def measure(
    kind: str, preview_limit: int, early: Early | None = None
) -> tuple[dict[str, Any], bytes]:
    """Read and measure the exact B-rep (told to `early` at once: the price needs nothing more),
    then tessellate; returns the JSON report and the preview mesh bytes."""
    from OCP.Bnd import Bnd_Box
    from OCP.BRep import BRep_Tool
    from OCP.BRepBndLib import BRepBndLib
    from OCP.BRepGProp import BRepGProp
    from OCP.GProp import GProp_GProps
    from OCP.TopAbs import TopAbs_FACE, TopAbs_SHELL, TopAbs_SOLID

    shape = read_shape(kind)
    if shape is None or shape.IsNull():
        return {"error": "unreadable", "message": f"not a {kind.upper()} file"}, b""
    faces = count(shape, TopAbs_FACE)
    if faces == 0:
        return {"error": "unreadable", "message": "no surfaces in the file"}, b""
    solids = count(shape, TopAbs_SOLID)
    if solids == 0:  # IGES and some STEP exports carry loose faces: sew them into solids
        shape = sew_into_solids(shape)
        solids = count(shape, TopAbs_SOLID)
    box = Bnd_Box()
    BRepBndLib.AddOptimal_s(shape, box, False, False)
    if box.IsVoid():
        return {"error": "unreadable", "message": "empty bounding box"}, b""
    props = GProp_GProps()
    BRepGProp.VolumeProperties_s(shape, props)
    volume = abs(props.Mass())
    props = GProp_GProps()
    BRepGProp.SurfaceProperties_s(shape, props)
    area = props.Mass()
    shells = list(explore(shape, TopAbs_SHELL))
    closed = solids > 0 and bool(shells) and all(BRep_Tool.IsClosed_s(s) for s in shells)
    lo, hi = box.CornerMin().Coord(), box.CornerMax().Coord()
    report = {
        "volume": volume,
        "area": area,
        "bbox_min": list(lo),
        "bbox_max": list(hi),
        "faces": faces,
        "solids": solids,
        "closed": closed,
    }
    if early is not None:
        early(report)
        with contextlib.suppress(OSError):  # the rest can wait for the next drawing's price
            os.nice(LATER_NICENESS)
    total, mesh = tessellate(shape, lo, hi, preview_limit)
    report.update(tessellated_triangles=total, mesh_triangles=len(mesh) // 36)
    return report, mesh


def read_shape(kind: str) -> Any:
    from OCP.IFSelect import IFSelect_RetDone

    if kind == "iges":
        from OCP.IGESControl import IGESControl_Reader as Reader
    else:
        from OCP.STEPControl import STEPControl_Reader as Reader
    reader = Reader()
    if reader.ReadFile(DRAWING) != IFSelect_RetDone:
        return None
    if reader.TransferRoots() == 0:
        return None
    return reader.OneShape()


def explore(shape: Any, kind: Any) -> Any:
    from OCP.TopExp import TopExp_Explorer

    explorer = TopExp_Explorer(shape, kind)
    while explorer.More():
        yield explorer.Current()
        explorer.Next()


def count(shape: Any, kind: Any) -> int:
    return sum(1 for _ in explore(shape, kind))


def sew_into_solids(shape: Any) -> Any:
    """Sew loose faces; every closed shell that results becomes a solid."""
    from OCP.BRep import BRep_Builder, BRep_Tool
    from OCP.BRepBuilderAPI import BRepBuilderAPI_MakeSolid, BRepBuilderAPI_Sewing
    from OCP.TopAbs import TopAbs_SHELL
    from OCP.TopoDS import TopoDS, TopoDS_Compound

    sewing = BRepBuilderAPI_Sewing(1e-3)
    sewing.Add(shape)
    sewing.Perform()
    sewn = sewing.SewedShape()
    compound = TopoDS_Compound()
    builder = BRep_Builder()
    builder.MakeCompound(compound)
    made = 0
    for shell in explore(sewn, TopAbs_SHELL):
        shell = TopoDS.Shell(shell)
        if BRep_Tool.IsClosed_s(shell):
            builder.Add(compound, BRepBuilderAPI_MakeSolid(shell).Solid())
        else:
            builder.Add(compound, shell)
        made += 1
    return compound if made else sewn


def tessellate(shape: Any, lo: tuple, hi: tuple, limit: int) -> tuple[int, bytes]:
    """Triangles for the preview: every face meshed, then every k-th kept to stay under `limit`.

    OpenCascade's STL writer gathers the faces' triangles (placed and wound by each face's
    location and orientation) into a memfd in C++, a hundred times faster than reading them
    node by node from Python; the file is only ever in memory."""
    import numpy as np
    from OCP.BRepMesh import BRepMesh_IncrementalMesh
    from OCP.StlAPI import StlAPI_Writer

    diagonal = math.dist(lo, hi)
    BRepMesh_IncrementalMesh(shape, max(diagonal * 2e-3, 1e-3), False, 0.35, True)
    fd = os.memfd_create("mesh.stl", os.MFD_CLOEXEC)
    try:
        writer = StlAPI_Writer()
        writer.ASCIIMode = False
        if not writer.Write(shape, f"/proc/self/fd/{fd}"):
            raise RuntimeError("the tessellation could not be written")
        raw = os.pread(fd, os.fstat(fd).st_size, 0)
    finally:
        os.close(fd)
    total = int.from_bytes(raw[80:84], "little") if len(raw) >= 84 else 0
    if limit <= 0 or total == 0:
        return total, b""
    record = np.dtype([("normal", "<f4", 3), ("corners", "<f4", (3, 3)), ("attribute", "<u2")])
    corners = np.frombuffer(raw, record, count=total, offset=84)["corners"]
    stride = max(1, math.ceil(total / limit))
    return total, np.ascontiguousarray(corners[::stride], np.float32).tobytes()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
