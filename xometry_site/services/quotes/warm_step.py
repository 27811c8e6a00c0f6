"""The app's end of the warm OpenCascade process (step_server.py, which documents the protocol).

One warm process per app process, started on first use (or by `start()`, as `flask worker`
does so that RQ's work horses, forked per job, inherit it instead of starting their own). A
drawing costs a fork of the warm process instead of a new interpreter importing OpenCascade
(about a second). Requests from several threads run at once: each has its own reply socket
and child. A warm process that has died or does not answer is replaced once; if that one fails
too, `WarmUnavailable` tells the caller to measure the cold way.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .geometry import GeometryError

log = logging.getLogger(__name__)

SERVER = Path(__file__).with_name("step_server.py")
START_TIMEOUT = 60.0  # importing OpenCascade: about a second, much longer on a busy machine
ACK_TIMEOUT = 10.0  # to fork a child for a request; the warm process does nothing else
GRACE = 5.0  # past the drawing's time limit, before the warm process counts as stuck


class WarmUnavailable(Exception):
    """The warm process could not be started or reached: measure the cold way."""


@dataclass(frozen=True)
class WarmRun:
    """What the child wrote (step_worker's answer), and who measured it."""

    output: bytes
    server_pid: int
    child_pid: int
    imports: int  # times the warm process imported OpenCascade: 1
    served: int  # drawings it has been given, this one included


class WarmServer:
    """The warm process of this app process, started on demand and replaced when it dies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._owner = 0  # the pid that started it; a forked child only borrows it
        self.pid = 0

    def measure(
        self,
        drawing_fd: int,
        kind: str,
        timeout: float,
        preview_limit: int,
        memory_limit: int,
        on_early: Callable[[bytes], None] | None = None,
    ) -> WarmRun:
        """Measure the drawing in `drawing_fd` (a memfd) in a child of the warm process.

        `on_early` gets the child's B-rep line (step_worker.stage_line) while the child goes on
        to tessellate. Raises GeometryError for what the cold child would (time limit, crash),
        WarmUnavailable when no warm process answers even after one replacement. A second
        attempt only gets what is left of `timeout` (the first may have died mid-drawing)."""
        deadline = time.monotonic() + timeout
        for attempt in (1, 2):
            control = self._connection()
            left = deadline - time.monotonic()
            if left <= 0:
                raise GeometryError("timeout", f"OpenCascade took longer than {timeout:g} s")
            request = {
                "kind": kind,
                "timeout": left,
                "preview_limit": preview_limit,
                "memory_limit": memory_limit,
            }
            try:
                return self._request(control, drawing_fd, request, left, on_early)
            except WarmUnavailable as exc:
                log.warning("step.warm_unavailable attempt=%d reason=%s", attempt, exc)
                self._discard(control)
        raise WarmUnavailable("no warm process answered")

    def start(self) -> None:
        """Start it now (if none is running) rather than on the first drawing."""
        self._connection()

    def stop(self) -> None:
        """Close our end: the warm process kills its children and exits (ours is waited for)."""
        with self._lock:
            self._stop_locked()

    def _connection(self) -> socket.socket:
        with self._lock:
            if self._control is not None:
                if self._owner != os.getpid():  # borrowed across a fork: no Popen of ours to ask
                    return self._control
                if self._proc is not None and self._proc.poll() is None:
                    return self._control
                log.warning("step.warm_died code=%s", self._proc and self._proc.returncode)
                self._stop_locked()
            return self._start_locked()

    def _start_locked(self) -> socket.socket:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            proc = subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
                [sys.executable, "-I", str(SERVER), str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=_plain_environment(),
                start_new_session=True,  # not in the terminal's group: Ctrl-C reaches it by EOF
            )
        except OSError as exc:
            ours.close()
            raise WarmUnavailable(f"cannot start: {exc}") from None
        finally:
            theirs.close()
        hello = _receive(ours, START_TIMEOUT)
        if not isinstance(hello, dict) or "ready" not in hello:
            ours.close()
            _end(proc)
            raise WarmUnavailable("it did not start")
        ours.settimeout(ACK_TIMEOUT)  # bounds a send to a warm process that stopped reading
        self._proc, self._control, self._owner = proc, ours, os.getpid()
        self.pid = int(hello["ready"])
        log.info("step.warm_started pid=%d", self.pid)
        return ours

    def _stop_locked(self) -> None:
        control, proc, owned = self._control, self._proc, self._owner == os.getpid()
        self._control, self._proc, self._owner, self.pid = None, None, 0, 0
        if control is not None:
            control.close()
        if proc is not None and owned:
            _end(proc)

    def _discard(self, control: socket.socket) -> None:
        """Drop a warm process that failed a request (unless another thread already has)."""
        with self._lock:
            if self._control is control:
                if self._proc is not None and self._owner == os.getpid():
                    self._proc.kill()
                self._stop_locked()

    def _request(
        self,
        control: socket.socket,
        drawing_fd: int,
        request: dict[str, Any],
        timeout: float,
        on_early: Callable[[bytes], None] | None,
    ) -> WarmRun:
        deadline = time.monotonic() + timeout
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        result = os.memfd_create("result", os.MFD_CLOEXEC)
        early_r, early_w = os.pipe()
        try:
            try:
                socket.send_fds(
                    control,
                    [json.dumps(request).encode()],
                    [drawing_fd, result, early_w, theirs.fileno()],
                )
            except OSError as exc:
                raise WarmUnavailable(f"send: {exc}") from None
            finally:
                theirs.close()  # the warm process holds it now; EOF when it dies
                os.close(early_w)  # the child's alone: EOF once it has sent or ended
            ack = _receive(mine, ACK_TIMEOUT)
            if not isinstance(ack, dict) or "child" not in ack:
                raise WarmUnavailable(f"no child forked: {ack!r}")
            early = _read_early(early_r, deadline + GRACE)
            if early and on_early is not None:
                on_early(early)  # the child tessellates meanwhile; its deadline still holds
            status = _receive(mine, max(0.0, deadline - time.monotonic()) + GRACE)
            if status is EOF:
                raise WarmUnavailable("it ended while measuring")
            if status is None:  # stuck: replace it; the child's own alarm ends the child
                self._discard(control)
                raise GeometryError("timeout", f"OpenCascade took longer than {timeout:g} s")
            if status.get("timed_out"):
                raise GeometryError("timeout", f"OpenCascade took longer than {timeout:g} s")
            if status.get("exit") != 0:
                how = (
                    f"exit {status['exit']}"
                    if "exit" in status
                    else f"signal {status.get('signal')}"
                )
                raise GeometryError("unreadable", f"the CAD reader stopped ({how})")
            output = _read_all(result)
            return WarmRun(output, ack["server"], ack["child"], ack["imports"], ack["served"])
        finally:
            mine.close()
            os.close(result)
            os.close(early_r)

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()  # another thread may have held it at the fork


EOF = object()


def _receive(sock: socket.socket, timeout: float) -> Any:
    """The next JSON datagram; EOF when the peer is gone, None when none came in `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([sock], [], [], left)
        if not ready:
            return None
        try:
            data = sock.recv(4096, socket.MSG_DONTWAIT)
        except BlockingIOError:
            continue
        except OSError:
            return EOF
        if not data:
            return EOF
        try:
            return json.loads(data)
        except ValueError:
            return EOF


def _read_early(fd: int, deadline: float) -> bytes:
    """What the child sent down the early pipe, once it closed it (or ended), or by `deadline`."""
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return b""
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return b""
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _read_all(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    chunks, offset = [], 0
    while offset < size:
        chunk = os.pread(fd, size - offset, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _plain_environment() -> dict[str, str]:
    """The app's environment holds its secrets (keys, database URL); the process that parses
    untrusted CAD files gets only what finding programs and decoding text need."""
    keep = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR")
    return {name: os.environ[name] for name in keep if name in os.environ}


def _end(proc: subprocess.Popen[bytes]) -> None:
    """Wait briefly for a warm process told to stop (EOF), then kill it."""
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


WARM = WarmServer()
os.register_at_fork(after_in_child=WARM._after_fork_in_child)
atexit.register(WARM.stop)


def start() -> None:
    """Start this process's warm OpenCascade process now; a failure is logged (cold path left)."""
    with contextlib.suppress(WarmUnavailable):
        WARM.start()
