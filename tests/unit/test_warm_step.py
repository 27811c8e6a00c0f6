"""The warm OpenCascade process: one import serves many drawings, each in a child of its own that
is timed, may crash, and sees the drawing only in memory; a dead or stuck warm process is
replaced, and nothing is left running."""

from __future__ import annotations

import json
import logging
import os
import signal
import tempfile
import threading
import time
from pathlib import Path

import pytest

from xometry_site.services.quotes import warm_step
from xometry_site.services.quotes.geometry import GeometryError
from xometry_site.services.quotes.step_reader import STEP_MEMORY_LIMIT, analyze_step
from xometry_site.services.quotes.warm_step import WARM

pytestmark = pytest.mark.slow


def _written(kind: str, shape) -> bytes:
    """A STEP/IGES file written by OpenCascade into a memfd, read back (no disk)."""
    from OCP.IGESControl import IGESControl_Writer
    from OCP.STEPControl import STEPControl_AsIs, STEPControl_Writer

    fd = os.memfd_create("sample")
    try:
        path = f"/proc/self/fd/{fd}"
        if kind == "step":
            writer = STEPControl_Writer()
            writer.Transfer(shape, STEPControl_AsIs)
            writer.Write(path)
        else:
            writer = IGESControl_Writer("MM", 0)
            writer.AddShape(shape)
            writer.ComputeModel()
            writer.Write(path)
        return os.pread(fd, os.fstat(fd).st_size, 0)
    finally:
        os.close(fd)


def _box(dx: float = 10, dy: float = 20, dz: float = 30):
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeBox

    return BRepPrimAPI_MakeBox(dx, dy, dz).Shape()


@pytest.fixture(scope="module")
def box_step() -> bytes:
    return _written("step", _box())


@pytest.fixture(scope="module")
def slow_step() -> bytes:
    """800 spheres in one file (1.7 MB): a warm child needs about a second for it."""
    from OCP.BRep import BRep_Builder
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeSphere
    from OCP.gp import gp_Pnt
    from OCP.TopoDS import TopoDS_Compound

    compound, builder = TopoDS_Compound(), BRep_Builder()
    builder.MakeCompound(compound)
    for i in range(800):
        builder.Add(compound, BRepPrimAPI_MakeSphere(gp_Pnt(i * 30.0, 0, 0), 10.0).Shape())
    return _written("step", compound)


def _memfd(data: bytes) -> int:
    fd = os.memfd_create("drawing.step", os.MFD_CLOEXEC)
    os.write(fd, data)
    return fd


def _measure(data: bytes, kind: str = "step", timeout: float = 30.0) -> warm_step.WarmRun:
    fd = _memfd(data)
    try:
        return WARM.measure(fd, kind, timeout, 1000, STEP_MEMORY_LIMIT)
    finally:
        os.close(fd)


def _report(run: warm_step.WarmRun) -> dict:
    return json.loads(run.output.partition(b"\n")[0])


def _exists(pid: int) -> bool:
    """Running, or a zombie nobody has reaped: either is a leftover."""
    return Path(f"/proc/{pid}").exists()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _wait_for(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("timed out waiting")


@pytest.fixture(autouse=True)
def fresh_warm_process():
    """Each test starts without a warm process and must leave no process behind."""
    WARM.stop()
    seen: set[int] = set()
    yield seen
    if WARM.pid:
        seen.add(WARM.pid)
        seen.update(_children(WARM.pid))
    WARM.stop()
    _wait_for(lambda: not [pid for pid in seen if _exists(pid)], timeout=5)
    mine = [pid for pid in _children(os.getpid()) if b"step_" in _cmdline(pid)]
    assert mine == [], "an OpenCascade process of this test is still there"


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_two_drawings_are_measured_with_one_opencascade_import(box_step, fresh_warm_process):
    first = _measure(box_step)
    second = _measure(_written("iges", _box(5, 5, 5)), kind="iges")
    fresh_warm_process.update({first.server_pid, first.child_pid, second.child_pid})
    assert first.server_pid == second.server_pid == WARM.pid
    assert first.child_pid != second.child_pid  # a child of its own per drawing
    assert first.imports == second.imports == 1
    assert (first.served, second.served) == (1, 2)
    # the children imported no module at all: OpenCascade came with the fork
    assert _report(first)["imported_modules"] == []
    assert _report(second)["imported_modules"] == []
    assert _report(first)["volume"] == pytest.approx(6000.0)
    assert _report(second)["volume"] == pytest.approx(125.0)
    # each child is reaped as it ends: no zombie waits for the warm process
    assert not _exists(first.child_pid) and not _exists(second.child_pid)
    # and the site's entry point uses the same process
    geometry = analyze_step([box_step])
    assert geometry.volume_mm3 == pytest.approx(6000.0) and WARM.pid == first.server_pid


def test_a_child_past_its_time_limit_is_killed_and_the_next_drawing_is_served(
    box_step, slow_step, fresh_warm_process
):
    WARM.start()
    server = WARM.pid
    started = time.monotonic()
    with pytest.raises(GeometryError) as caught:
        analyze_step([slow_step], timeout=0.3)
    assert caught.value.reason_code == "timeout"
    assert time.monotonic() - started < 5
    assert _children(server) == []  # killed and reaped
    run = _measure(box_step)
    assert run.server_pid == server and run.served == 2
    assert _report(run)["volume"] == pytest.approx(6000.0)


def test_a_crashed_child_is_unreadable_and_the_warm_process_serves_on(box_step, slow_step):
    WARM.start()
    server = WARM.pid
    crashed = threading.Thread(target=lambda: errors.append(_catch(slow_step)))
    errors: list = []
    crashed.start()
    child = _wait_for(lambda: _children(server))[0]
    os.kill(child, signal.SIGSEGV)  # as a fault in the CAD kernel would
    crashed.join(30)
    assert [getattr(e, "reason_code", e) for e in errors] == ["unreadable"]
    assert "signal 11" in str(errors[0])
    assert _report(_measure(box_step))["volume"] == pytest.approx(6000.0)
    assert WARM.pid == server


def _catch(data: bytes, timeout: float = 30.0):
    try:
        analyze_step([data], timeout=timeout)
    except GeometryError as exc:
        return exc
    return None


def test_two_drawings_at_once_each_get_a_child(slow_step):
    WARM.start()
    server = WARM.pid
    runs: list = []
    threads = [threading.Thread(target=lambda: runs.append(_measure(slow_step))) for _ in "ab"]
    for thread in threads:
        thread.start()
    _wait_for(lambda: len(_children(server)) == 2)  # both measuring at the same time
    for thread in threads:
        thread.join(60)
    assert len(runs) == 2 and runs[0].child_pid != runs[1].child_pid
    assert {run.server_pid for run in runs} == {server}
    assert all(_report(run)["solids"] == 800 for run in runs)


def test_the_drawing_is_only_in_memory_while_it_is_measured(slow_step, tmp_path):
    marker = b"PLAINTEXT-" + os.urandom(8).hex().encode()
    data = slow_step.replace(b"HEADER;", b"HEADER;\n/* " + marker + b" */", 1)
    WARM.start()
    server = WARM.pid
    started = time.time()
    measuring = threading.Thread(target=lambda: analyze_step([data]))
    measuring.start()
    child = _wait_for(lambda: _children(server))[0]
    # once set up, the child holds the drawing as a memfd (fd 0) and writes into another one
    child_fds = _wait_for(lambda: _measuring_fds(child))
    server_fds = _fd_targets(server)
    measuring.join(60)
    on_disk = {t for t in child_fds.values() if t.startswith("/") and not t.startswith("/memfd:")}
    assert on_disk <= {"/dev/null"}, child_fds
    # the warm process passed the drawing on and kept no copy of it
    assert not [t for t in server_fds.values() if "drawing" in t], server_fds
    roots = [Path(tempfile.gettempdir()), tmp_path]
    assert _files_containing(marker, roots, started) == []


def _measuring_fds(pid: int) -> dict[int, str] | None:
    """The child's descriptors once the drawing is its stdin (None before)."""
    targets = _fd_targets(pid)
    return targets if targets.get(0, "").startswith("/memfd:drawing.step") else None


def _fd_targets(pid: int) -> dict[int, str]:
    targets = {}
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            targets[int(fd.name)] = os.readlink(fd)
        except OSError:
            continue
    return targets


def _files_containing(marker: bytes, roots: list[Path], since: float) -> list[Path]:
    found = []
    for root in roots:
        for path in root.rglob("*") if root.exists() else []:
            try:
                if path.is_file() and path.stat().st_mtime >= since and marker in path.read_bytes():
                    found.append(path)
            except OSError:
                continue
    return found


def test_a_killed_warm_process_is_replaced_on_next_use(box_step):
    WARM.start()
    old = WARM.pid
    os.kill(old, signal.SIGKILL)
    run = _measure(box_step)
    assert run.server_pid != old and run.served == 1
    assert not _exists(old)  # reaped, not a zombie


def test_a_warm_process_dying_mid_drawing_is_replaced_and_the_drawing_measured(box_step, slow_step):
    WARM.start()
    old = WARM.pid
    results: list = []
    measuring = threading.Thread(target=lambda: results.append(analyze_step([slow_step])))
    measuring.start()
    orphan = _wait_for(lambda: _children(old))[0]
    os.kill(old, signal.SIGKILL)
    measuring.join(60)
    assert results and results[0].solids == 800
    assert WARM.pid not in (0, old)
    _wait_for(lambda: not _exists(orphan), timeout=5)  # died with its warm process


def test_a_retry_gets_only_what_is_left_of_the_time_limit(slow_step):
    """A drawing whose warm process dies under it is tried again, within the same limit: a
    claim on it never lasts much longer than STEP_TIMEOUT (plus starting the replacement)."""
    begun = time.monotonic()
    WARM.start()
    start_cost = time.monotonic() - begun
    old = WARM.pid
    errors: list = []
    started = time.monotonic()
    measuring = threading.Thread(target=lambda: errors.append(_catch(slow_step, timeout=1.0)))
    measuring.start()
    _wait_for(lambda: _children(old))
    time.sleep(0.3)
    os.kill(old, signal.SIGKILL)
    measuring.join(60)
    assert [getattr(e, "reason_code", e) for e in errors] == ["timeout"]
    assert time.monotonic() - started < 1.0 + warm_step.GRACE + 3 * start_cost


def test_a_stuck_warm_process_is_replaced(box_step, monkeypatch):
    WARM.start()
    old = WARM.pid
    os.kill(old, signal.SIGSTOP)
    monkeypatch.setattr(warm_step, "ACK_TIMEOUT", 0.5)
    run = _measure(box_step)
    assert run.server_pid != old
    assert not _exists(old)


def test_the_cold_path_measures_when_no_warm_process_starts(
    box_step, tmp_path, monkeypatch, caplog
):
    broken = tmp_path / "step_server.py"
    broken.write_text("import sys\nsys.exit(3)\n")
    monkeypatch.setattr(warm_step, "SERVER", broken)
    caplog.set_level(logging.WARNING)
    geometry = analyze_step([box_step])
    assert geometry.volume_mm3 == pytest.approx(6000.0)
    assert "step.cold_fallback" in caplog.text
    assert WARM.pid == 0


def test_a_forked_process_borrows_the_warm_process(box_step):
    """RQ forks a work horse per job: it uses the worker's warm process, which outlives it."""
    WARM.start()
    server = WARM.pid
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the horse
        try:
            os.close(read_end)
            run = _measure(box_step)
            os.write(write_end, json.dumps([run.server_pid, run.served]).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read_end) as answer:
        assert json.loads(answer.read()) == [server, 1]
    assert os.waitstatus_to_exitcode(status) == 0
    run = _measure(box_step)  # still there after the horse has gone
    assert (run.server_pid, run.served) == (server, 2)


def test_the_warm_process_gets_none_of_the_app_s_secrets(box_step, monkeypatch):
    """It parses untrusted files: the keys and the database URL in the app's environment stay out."""
    secret = "keyring-" + os.urandom(8).hex()
    monkeypatch.setenv("KEYRING", secret)
    monkeypatch.setenv("DATABASE_URL", "postgresql://user:" + secret + "@db/x")
    WARM.start()
    environ = Path(f"/proc/{WARM.pid}/environ").read_bytes()
    assert secret.encode() not in environ
    assert b"PATH=" in environ
    assert _report(_measure(box_step))["volume"] == pytest.approx(6000.0)
