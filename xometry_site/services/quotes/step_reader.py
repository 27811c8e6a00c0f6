"""STEP and IGES measured by OpenCascade in a child process fed through an in-memory file, never a disk file."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from .geometry import GeometryError, PartGeometry, units_hint

log = logging.getLogger(__name__)
STEP_WORKER = Path(__file__).with_name("step_worker.py")
STEP_MEMORY_LIMIT = 4 << 30  # address-space cap for the OpenCascade child


def analyze_step(
    chunks: Iterable[bytes],
    kind: str = "step",
    timeout: float = 30.0,
    preview_limit: int = 200_000,
    warm: bool = True,
    on_brep: Callable[[PartGeometry], None] | None = None,
) -> PartGeometry:
    """Measure a STEP or IGES file with OpenCascade in a child process, killed after `timeout`.

    `on_brep`, if given, is called with the exact B-rep measures (volume, area, box: what the
    price needs; no mesh yet) as soon as the child has them, while it goes on to tessellate;
    the call's own time counts against `timeout`.

    The bytes go into an anonymous in-memory file (memfd) given to the child as its stdin; the
    child opens /proc/self/fd/0, so no plaintext touches disk. A crash or hang in the CAD kernel
    costs the child, not the web worker. With `warm` the child is forked by the warm process,
    which has OpenCascade imported already (warm_step.py); without it, or when no warm process
    answers, the child is a new interpreter (the cold path, a second slower). Tries share the
    time limit: the cold path gets what the warm one left.
    """
    if kind not in ("step", "iges"):
        raise ValueError(f"kind must be 'step' or 'iges', not {kind!r}")
    fd = os.memfd_create(f"drawing.{kind}", os.MFD_CLOEXEC)
    try:
        total = 0
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                written = os.write(fd, view)
                view = view[written:]
                total += written
        if total == 0:
            raise GeometryError("empty", "the file is empty")
        os.lseek(fd, 0, os.SEEK_SET)
        started = time.monotonic()
        early = _early(kind, on_brep)
        out = _run_warm(fd, kind, timeout, preview_limit, early) if warm else None
        if out is None:
            left = timeout - (time.monotonic() - started)
            if left <= 0:
                raise GeometryError("timeout", f"OpenCascade took longer than {timeout:g} s")
            out = _run_worker(fd, kind, left, preview_limit, early)
    finally:
        os.close(fd)
    return _geometry_from_worker(out, kind)


def _early(
    kind: str, on_brep: Callable[[PartGeometry], None] | None
) -> Callable[[bytes], None] | None:
    """The B-rep line's handler: its geometry to `on_brep` (a line that is not one is ignored:
    the answer that follows tells what went wrong)."""
    if on_brep is None:
        return None

    def handle(line: bytes) -> None:
        try:
            report = json.loads(line)
            geometry = _geometry(report, kind) if report.get("stage") == "brep" else None
        except (ValueError, KeyError, TypeError, AttributeError, GeometryError):
            return
        if geometry is not None:
            on_brep(geometry)

    return handle


def _run_warm(
    fd: int, kind: str, timeout: float, preview_limit: int, early: Callable[[bytes], None] | None
) -> bytes | None:
    """The warm process's answer, or None when there is none to be had (then the cold path)."""
    from .warm_step import WARM, WarmUnavailable

    try:
        return WARM.measure(fd, kind, timeout, preview_limit, STEP_MEMORY_LIMIT, early).output
    except WarmUnavailable:
        log.warning("step.cold_fallback kind=%s", kind)
        return None


def _run_worker(
    stdin_fd: int,
    kind: str,
    timeout: float,
    preview_limit: int,
    early: Callable[[bytes], None] | None = None,
) -> bytes:
    deadline = time.monotonic() + timeout
    command = [
        sys.executable,
        "-I",
        str(STEP_WORKER),
        kind,
        str(preview_limit),
        str(STEP_MEMORY_LIMIT),
    ]
    proc = subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
        command,
        stdin=stdin_fd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, so a kill takes any helpers too
    )
    try:
        out = _read_output(proc, deadline, early)
        proc.wait(max(0.0, deadline - time.monotonic()) + 1.0)
        proc.stdout.close()  # type: ignore[union-attr]
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise GeometryError("timeout", f"OpenCascade took longer than {timeout:g} s") from None
    except BaseException:
        _kill_group(proc)
        raise
    if proc.returncode != 0:
        raise GeometryError("unreadable", f"the CAD reader stopped (exit {proc.returncode})")
    return out


def _read_output(
    proc: subprocess.Popen[bytes], deadline: float, early: Callable[[bytes], None] | None
) -> bytes:
    """The child's stdout to its end; a leading B-rep line goes to `early`, not into the answer."""
    assert proc.stdout is not None  # noqa: S101 - stdout=PIPE
    fd, chunks, head = proc.stdout.fileno(), [], True
    buffer = b""
    while True:
        left = deadline - time.monotonic()
        ready = select.select([fd], [], [], left)[0] if left > 0 else []
        if not ready:
            raise subprocess.TimeoutExpired(proc.args, 0)
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        if not head:
            chunks.append(chunk)
            continue
        buffer += chunk
        if b"\n" in buffer:
            head = False
            line, _, rest = buffer.partition(b"\n")
            if line.startswith(b'{"stage": "brep"'):
                if early is not None:
                    early(line)
                chunks.append(rest)
            else:
                chunks.append(buffer)
    if head:
        chunks.append(buffer)
    return b"".join(chunks)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def _geometry_from_worker(out: bytes, kind: str) -> PartGeometry:
    line, _, mesh = out.partition(b"\n")
    try:
        report = json.loads(line)
    except ValueError:
        raise GeometryError("unreadable", "the CAD reader gave no answer") from None
    geometry = _geometry(report, kind)
    n = int(report["mesh_triangles"])
    triangles = np.frombuffer(mesh, np.float32, count=n * 9).reshape(n, 3, 3) if n else None
    geometry.triangles = int(report["tessellated_triangles"])
    geometry.preview_triangles = triangles
    # every k-th triangle of a larger tessellation would show holes in 3D: no viewer mesh
    geometry.viewer_triangles = triangles if n == geometry.triangles else None
    return geometry


def _geometry(report: dict, kind: str) -> PartGeometry:
    """The exact B-rep measures of a report (no mesh), or its error raised."""
    if "error" in report:
        raise GeometryError(report["error"], report.get("message", ""))
    lo, hi = tuple(report["bbox_min"]), tuple(report["bbox_max"])
    size = [b - a for a, b in zip(lo, hi, strict=True)]
    if report["volume"] <= 0 or min(size) <= 0:
        raise GeometryError("degenerate", "the model encloses no volume")
    return PartGeometry(
        format=kind,
        volume_mm3=float(report["volume"]),
        area_mm2=float(report["area"]),
        bbox_min=lo,  # type: ignore[arg-type]
        bbox_max=hi,  # type: ignore[arg-type]
        faces=int(report["faces"]),
        solids=int(report["solids"]),
        watertight=bool(report["closed"]),
        units_hint=units_hint(size),
    )
