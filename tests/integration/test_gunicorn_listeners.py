"""gunicorn.conf.py spreads a burst of keep-alive connections over its workers, not onto one, and
keeps what a worker builds to stay out of its garbage collector's walks."""

from __future__ import annotations

import collections
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
# Answers with the pid of the worker that served it, or how many objects its collector skips.
PID_APP = """
import gc
import os


KEPT = []  # built by the first request to stay, as a compiled template is


def app(environ, start_response):
    KEPT.extend([] if KEPT else ([n] for n in range(2000)))
    answer = gc.get_freeze_count() if environ["PATH_INFO"] == "/frozen" else os.getpid()
    body = str(answer).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
"""


def _serve(tmp_path: Path, **env: str) -> tuple[subprocess.Popen, int]:
    (tmp_path / "pid_app.py").write_text(PID_APP)
    port = free_port()
    process = subprocess.Popen(
        [GUNICORN, "-c", "gunicorn.conf.py", "--pythonpath", str(tmp_path), "pid_app:app"],
        env={"PATH": os.environ.get("PATH", ""), "GUNICORN_BIND": f"127.0.0.1:{port}", **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "gunicorn.log", "wb"),  # noqa: SIM115 - the child holds it
        start_new_session=True,
    )
    return process, port


def _workers_ready(port: int, workers: int) -> None:
    """Until every worker answers (a new connection goes to any listening worker)."""
    seen: set[str] = set()
    deadline = time.monotonic() + 60
    while len(seen) < workers and time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                seen.add(_ask(conn))
        except OSError:
            time.sleep(0.05)  # still booting
    assert len(seen) == workers, f"only {len(seen)} of {workers} workers answered"


def _ask(conn: socket.socket, path: str = "/") -> str:
    conn.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    answer = b""
    while b"\r\n\r\n" not in answer or not answer.split(b"\r\n\r\n", 1)[1]:
        chunk = conn.recv(4096)
        if not chunk:
            break
        answer += chunk
    return answer.split(b"\r\n\r\n", 1)[1].decode()


def test_a_burst_of_keep_alive_connections_is_spread_over_the_workers(tmp_path):
    """32 connections opened at once, as a load balancer's pool or a busy page opens them, each
    kept: every request on one goes to the worker that accepted it. On a socket shared by the
    workers one of 2 took 28 to 32 of them; with a socket each, both get their share."""
    process, port = _serve(tmp_path, WEB_CONCURRENCY="2", GUNICORN_REUSE_PORT="1")
    try:
        _workers_ready(port, workers=2)
        burst = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(32)]
        try:
            served = collections.Counter(_ask(conn) for conn in burst)
        finally:
            for conn in burst:
                conn.close()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    assert len(served) == 2, served
    # each worker's share follows Binomial(32, 1/2): below 6 once in ~10,000 runs
    assert min(served.values()) >= 6, served


def test_what_a_worker_built_in_its_first_requests_leaves_the_collectors_walks(tmp_path):
    """Frozen at start, and again after GUNICORN_FREEZE_AFTER requests: the objects made in
    between to stay (here, 2,000 lists the first request builds) join the frozen ones. Frozen
    objects freed by their last reference leave the count, so it moves by a few dozen."""
    process, port = _serve(tmp_path, WEB_CONCURRENCY="1", GUNICORN_FREEZE_AFTER="5")
    try:
        _workers_ready(port, workers=1)  # one request
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            counts = [int(_ask(conn, "/frozen")) for _ in range(6)]  # requests 2 to 7
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    before, after = counts[:4], counts[4:]  # the 5th request's hook runs after its answer
    assert min(before) > 0  # frozen once the app was loaded
    assert min(after) >= max(before) + 2000  # and once more, with what the requests built
