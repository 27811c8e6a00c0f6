"""The warm OpenCascade process: imports OpenCascade once, then forks one child per drawing.

Started by warm_step.py as `python -I step_server.py FD`, where FD is its end of a
SOCK_SEQPACKET socketpair (the control socket), and with none of the app's environment (its
secrets). Like step_worker.py, which it loads and whose `measured`/`write` each child runs, it
is kept free of the web package. It never measures a drawing itself and runs no thread, so
forking it is safe; each child is one drawing, capped and timed like the cold child, and a crash
or hang of a child costs only that child.

Protocol: one small JSON datagram at a time, descriptors passed with SCM_RIGHTS.
  control socket, server → client, once: {"ready": server pid, "imports": 1} when OpenCascade is
      imported (EOF instead: it could not start; the client measures the cold way).
  control socket, client → server, per drawing:
      {"kind": "step"|"iges", "preview_limit": int, "timeout": float, "memory_limit": int}
      with four descriptors: the drawing (a memfd), the result (an empty memfd), the write end
      of the early pipe and the reply socket (SOCK_SEQPACKET, one per drawing, so concurrent
      requests need no demultiplexing).
  reply socket, server → client: {"child": pid, "server": pid, "imports": n, "served": n} as soon
      as the child is forked (served: children forked so far, this one included); then
      {"exit": code} or {"signal": number, "timed_out": bool} once the child is reaped. A
      malformed request gets {"error": "..."} instead.
  early pipe: step_worker's B-rep line (`stage_line`) as soon as the part is measured, before
      it is tessellated, then EOF (closed at once, or at the child's end when it failed first).
  result memfd: what step_worker writes to stdout, one JSON line and the preview mesh; a warm
      child adds "imported_modules", the modules it had to import (none: all came warm).
The child reads the drawing as /proc/self/fd/0 (the memfd; no file on disk), has RLIMIT_AS set
to `memory_limit`, and its process group is SIGKILLed at `timeout`; it also arms its own alarm a
second later and asks the kernel to kill it if this process dies (PR_SET_PDEATHSIG). On EOF on
the control socket (every process holding the client end has exited or closed it) or SIGTERM,
running children are killed and reaped, then this process exits. Children are reaped as SIGCHLD
arrives, so none stays a zombie.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import importlib.util
import json
import os
import select
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

MAX_FDS = 4
ALARM_MARGIN = 1.0  # the child's own alarm, after the deadline this process enforces
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
KINDS = ("step", "iges")


@dataclass
class Job:
    """A child at work: where to say how it ended, and when it is to be killed."""

    reply: socket.socket
    deadline: float
    timed_out: bool = False


class Server:
    """The loop: accept requests, fork, reap, kill at deadlines; nothing else, so it never hangs."""

    def __init__(self, control: socket.socket, worker: ModuleType, imports: int) -> None:
        self.control, self.worker, self.imports = control, worker, imports
        self.jobs: dict[int, Job] = {}
        self.served = 0
        self.pid = os.getpid()
        self.libc = ctypes.CDLL(None, use_errno=True)  # loaded here, not in each child
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

    def serve(self) -> None:
        signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so the wake-up fd is written
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGTERM, _exit_on_signal)
        try:
            while True:
                ready, _, _ = select.select([self.control, self.wake_r], [], [], self.wait())
                if self.wake_r in ready:
                    with contextlib.suppress(BlockingIOError):
                        while os.read(self.wake_r, 512):
                            pass
                self.reap()
                self.kill_overdue()
                if self.control in ready and not self.accept():
                    return
        finally:
            self.stop_all()

    def wait(self) -> float | None:
        """Seconds until the next deadline (at most 1, in case a SIGCHLD went astray)."""
        if not self.jobs:
            return None
        nearest = min(job.deadline for job in self.jobs.values())
        return max(0.0, min(1.0, nearest - time.monotonic()))

    def accept(self) -> bool:
        """One request: fork its child. False once every client is gone."""
        try:
            message, fds, flags, _ = socket.recv_fds(self.control, 4096, MAX_FDS)
        except (BlockingIOError, InterruptedError):
            return True
        if not message and not fds:
            return False
        try:
            request = json.loads(message)
            if len(fds) != MAX_FDS or flags & socket.MSG_CTRUNC:
                raise ValueError("four descriptors expected")
            kind, timeout = request["kind"], float(request["timeout"])
            preview_limit, memory_limit = (
                int(request["preview_limit"]),
                int(request["memory_limit"]),
            )
            if kind not in KINDS or not timeout > 0 or memory_limit <= 0:
                raise ValueError("bad kind, timeout or memory limit")
        except (ValueError, KeyError, TypeError) as exc:
            if len(fds) == MAX_FDS and not flags & socket.MSG_CTRUNC:
                reply = socket.socket(fileno=fds.pop())
                _send(reply, {"error": str(exc)})
                reply.close()
            for fd in fds:
                os.close(fd)
            return True
        drawing, result, early, reply_fd = fds
        reply = socket.socket(fileno=reply_fd)
        reply.setblocking(False)
        try:
            pid = os.fork()
        except OSError as exc:  # out of processes or memory: the client measures the cold way
            _send(reply, {"error": f"fork: {exc}"})
            reply.close()
            for fd in (drawing, result, early):
                os.close(fd)
            return True
        if pid == 0:  # the child: never returns
            self.child(drawing, result, early, reply, kind, preview_limit, memory_limit, timeout)
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)  # as the child does: a kill before it gets there still hits it
        for fd in (drawing, result, early):
            os.close(fd)
        self.jobs[pid] = Job(reply, time.monotonic() + timeout)
        self.served += 1
        ack = {"child": pid, "server": os.getpid(), "imports": self.imports, "served": self.served}
        _send(reply, ack)
        return True

    def child(
        self,
        drawing: int,
        result: int,
        early: int,
        reply: socket.socket,
        kind: str,
        preview_limit: int,
        memory_limit: int,
        timeout: float,
    ) -> None:
        """Measure one drawing and exit; only the drawing, the result, the early pipe and
        /dev/null stay open."""
        try:
            _die_with(self.libc, self.pid)
            os.setpgid(0, 0)
            signal.set_wakeup_fd(-1)
            for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGALRM):
                signal.signal(signum, signal.SIG_DFL)
            signal.setitimer(signal.ITIMER_REAL, timeout + ALARM_MARGIN)
            for job in self.jobs.values():
                job.reply.close()
            reply.close()
            self.control.close()
            os.close(self.wake_r)
            os.close(self.wake_w)
            os.dup2(drawing, 0)
            os.close(drawing)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
            before = set(sys.modules)
            early_to = self.worker.early_to(early)
            report, mesh = self.worker.measured(kind, preview_limit, memory_limit, early_to)
            report["imported_modules"] = sorted(set(sys.modules) - before)
            with os.fdopen(result, "wb") as out:
                self.worker.write(out, report, mesh)
            os._exit(0)
        finally:
            os._exit(70)

    def reap(self) -> None:
        """Collect every child that has ended and tell its client how."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            job = self.jobs.pop(pid, None)
            if job is None:
                continue
            if os.WIFEXITED(status):
                answer: dict[str, Any] = {"exit": os.WEXITSTATUS(status)}
            else:
                signum = os.WTERMSIG(status)
                timed_out = job.timed_out or signum == signal.SIGALRM
                answer = {"signal": signum, "timed_out": timed_out}
            _send(job.reply, answer)
            job.reply.close()

    def kill_overdue(self) -> None:
        now = time.monotonic()
        for pid, job in self.jobs.items():
            if not job.timed_out and job.deadline <= now:
                job.timed_out = True
                _kill(pid)

    def stop_all(self) -> None:
        for pid in list(self.jobs):
            _kill(pid)
        for pid, job in list(self.jobs.items()):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            job.reply.close()
        self.jobs.clear()


def _die_with(libc: ctypes.CDLL, parent: int) -> None:
    """SIGKILL this child when the warm process dies (or now, if it already has)."""
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(71)


def _kill(pid: int) -> None:
    """SIGKILL the child's process group (any helper it started), and the child itself."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    """One datagram; a client that has gone away (or stopped reading) is not our problem."""
    with contextlib.suppress(OSError):
        sock.send(json.dumps(message).encode())


def _exit_on_signal(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def load_worker() -> ModuleType:
    """step_worker.py from beside this file (`-I` keeps this directory off sys.path)."""
    path = Path(__file__).with_name("step_worker.py")
    spec = importlib.util.spec_from_file_location("step_worker", path)
    if spec is None or spec.loader is None:
        raise ImportError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def preload(worker: ModuleType) -> int:
    """Import what every measurement needs, once; returns how many times that was done (1)."""
    # numpy's OpenBLAS would start a thread pool at import: a fork must find no other thread.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    for name in worker.OCP_MODULES:
        importlib.import_module(name)
    return 1


def threads() -> int:
    return len(os.listdir("/proc/self/task"))


def main(argv: list[str]) -> int:
    control = socket.socket(fileno=int(argv[1]))
    worker = load_worker()
    imports = preload(worker)
    if threads() != 1:  # forking now could copy a lock some other thread holds
        print(f"step_server: {threads()} threads after the imports; not serving", file=sys.stderr)
        return 3
    control.sendall(json.dumps({"ready": os.getpid(), "imports": imports}).encode())
    Server(control, worker, imports).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
