"""A large multipart upload through gunicorn into encrypted storage, against the same server
reading and discarding a raw body of the same size, measured in the same run.

    .venv/bin/python benchmarks/upload.py [--size-mb 200] [--small-mb 50] [--api-mb 50] [--runs 3]

Starts gunicorn (one gthread worker) on 127.0.0.1 with a small benchmark app: the real site
(POST /quotes/new, streamed → encrypted blob → quote row → analysis job) plus two bench-only
routes, a raw-body sink (the floor) and a sign-in. The payload is generated while it is sent.
The worker's RSS is sampled from /proc during each upload. The Mini Program's upload (POST
/api/mp/v1/quotes, multipart field `files`, bearer token, one drawing per request as
`wx.uploadFile` sends it) is measured the same way against a floor of its own size (--api-mb;
0 skips it). Goals, each printed PASS or MISS, for the website and the API alike:
  - the upload takes at most 3x the floor's time;
  - worker RSS grows by at most 16 MB, for the small and the large upload alike;
  - not one plaintext byte in the server's $TMPDIR (or anywhere under its instance folder).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
CHUNK = 256 * 1024
BOUNDARY = "----xometryBench" + secrets.token_hex(8)

BENCH_APP = '''
"""Benchmark app: the real site plus a raw-body sink and a sign-in (never deployed)."""
import os
from flask import request, jsonify
from flask_login import login_user
from xometry_site import create_app
from xometry_site.extensions import csrf, db
from xometry_site.models import User
from xometry_site.models.base import utcnow

instance = os.environ["BENCH_INSTANCE"]
app = create_app({
    "INSTANCE_PATH": instance,
    "SQLALCHEMY_DATABASE_URI": "sqlite:///" + os.path.join(instance, "bench.sqlite3"),
    "WTF_CSRF_ENABLED": False,
    "RATELIMIT_ENABLED": False,
    "UPLOAD_MAX_FILE_SIZE": int(os.environ["BENCH_MAX_FILE"]),
    "MAX_CONTENT_LENGTH": int(os.environ["BENCH_MAX_FILE"]) + 1024 * 1024,
    "MAIL_BACKEND": "file",
    "STORAGE_LOCAL_ROOT": os.environ.get("BENCH_STORAGE") or None,
    "UPLOAD_READ_AHEAD": os.environ.get("BENCH_READ_AHEAD") != "0",
})

with app.app_context():
    db.create_all()
    if db.session.scalar(db.select(User).filter_by(email="bench@example.com")) is None:
        db.session.add(User(email="bench@example.com", email_verified_at=utcnow()))
        db.session.commit()


def raw_sink():
    """The floor: read the body exactly as the upload does (same chunks) and drop it."""
    # the upload's body limit, not the form limit every other route gets (body_limits.py)
    request.max_content_length = app.config["MAX_CONTENT_LENGTH"]
    stream, total = request.stream, 0
    while True:
        chunk = stream.read(256 * 1024)
        if not chunk:
            break
        total += len(chunk)
    return jsonify(read=total)


def bench_login():
    user = db.session.scalar(db.select(User).filter_by(email="bench@example.com"))
    login_user(user)
    return jsonify(pid=os.getpid())


def bench_api_token():
    """An access token for the same account, as the API's POST /session hands one out."""
    from xometry_site.services.accounts import api_tokens

    user = db.session.scalar(db.select(User).filter_by(email="bench@example.com"))
    return jsonify(access_token=api_tokens.issue(user).access_token)


app.add_url_rule("/bench/raw", "bench_raw", raw_sink, methods=["POST"])
app.add_url_rule("/bench/login", "bench_login", bench_login, methods=["POST"])
app.add_url_rule("/bench/api-token", "bench_api_token", bench_api_token, methods=["POST"])
csrf.exempt(raw_sink)
csrf.exempt(bench_login)
csrf.exempt(bench_api_token)
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def payload(size: int, marker: bytes) -> Iterator[bytes]:
    """A PDF-signed file of `size` bytes: marker, then incompressible blocks (varied per MB)."""
    head = b"%PDF-1.7\n%" + marker + b"\n"
    yield head
    block = os.urandom(CHUNK)
    sent, n = len(head), 0
    while sent < size:
        n += 1
        piece = n.to_bytes(8, "little") + block[8:]
        piece = piece[: size - sent]
        sent += len(piece)
        yield piece


def multipart(size: int, marker: bytes, api: bool = False) -> tuple[int, Iterator[bytes]]:
    """(content length, chunks) of a form with the quote fields and one `size`-byte drawing;
    for the API, the drawing alone (the Mini Program sends options later, per part)."""
    fields = (
        [] if api else [("process", "cnc_machining"), ("material", "al6061"), ("quantity", "1")]
    )
    head = b""
    for name, value in fields:
        head += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        head += value.encode() + b"\r\n"
    head += f"--{BOUNDARY}\r\n".encode()
    head += b'Content-Disposition: form-data; name="files"; filename="bench.pdf"\r\n'
    head += b"Content-Type: application/pdf\r\n\r\n"
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    def chunks() -> Iterator[bytes]:
        yield head
        yield from payload(size, marker)
        yield tail

    return len(head) + size + len(tail), chunks()


def raw(size: int, marker: bytes) -> tuple[int, Iterator[bytes]]:
    return size, payload(size, marker)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (clock ticks from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1))


class Sampler(threading.Thread):
    """Highest RSS of the worker while a request runs (every 5 ms)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stopped = pid, rss_kb(pid), threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.peak = max(self.peak, rss_kb(self.pid))
            time.sleep(0.005)

    def stop(self) -> int:
        self.stopped.set()
        self.join()
        self.peak = max(self.peak, rss_kb(self.pid))
        return self.peak


def send(port: int, path: str, body: tuple[int, Iterator[bytes]], headers: dict) -> tuple:
    length, chunks = body
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.putrequest("POST", path)
    for name, value in {**headers, "Content-Length": str(length)}.items():
        conn.putheader(name, value)
    conn.endheaders()
    for chunk in chunks:
        conn.send(chunk)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, response.getheader("Location"), response.getheader("Set-Cookie"), data


def timed(port, pid, path, body, headers) -> tuple[float, float, int, tuple]:
    """(seconds, worker CPU seconds, RSS growth in KB over the request, response)."""
    before, cpu = rss_kb(pid), cpu_seconds(pid)
    sampler = Sampler(pid)
    sampler.start()
    start = time.perf_counter()
    answer = send(port, path, body, headers)
    elapsed = time.perf_counter() - start
    return elapsed, cpu_seconds(pid) - cpu, sampler.stop() - before, answer


def files_with(needle: bytes, root: Path) -> list[Path]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            with path.open("rb") as fh:
                carry = b""
                while chunk := fh.read(4 * MB):
                    if needle in carry + chunk:
                        hits.append(path)
                        break
                    carry = chunk[-len(needle) :]
    return hits


API_UPLOAD = "/api/mp/v1/quotes"


def api_leg(port, pid, size, runs, marker, api_headers, raw_headers) -> dict | None:
    """The Mini Program's upload of `size` bytes, each run beside a raw-body floor of that size."""
    if not size:
        return None
    result: dict[str, list] = {"floor": [], "upload": [], "growth": []}
    for _ in range(runs):
        t, _c, _g, answer = timed(port, pid, "/bench/raw", raw(size, marker), raw_headers)
        assert answer[0] == 200, answer
        result["floor"].append(t)
        t, _c, g, answer = timed(port, pid, API_UPLOAD, multipart(size, marker, True), api_headers)
        assert answer[0] == 201, answer[:2]
        result["upload"].append(t)
        result["growth"].append(g)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--small-mb", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--api-mb", type=int, default=50, help="the API leg's upload; 0 skips it")
    parser.add_argument("--no-read-ahead", action="store_true", help="read the body inline")
    parser.add_argument(
        "--storage-dir", help="blob storage root (default: the instance folder, on disk)"
    )
    args = parser.parse_args()
    size, small = args.size_mb * MB, args.small_mb * MB

    work = Path(tempfile.mkdtemp(prefix="xometry-bench-"))
    instance, tmpdir = work / "instance", work / "tmp"
    instance.mkdir()
    tmpdir.mkdir()
    (work / "bench_app.py").write_text(BENCH_APP)
    (work / "gunicorn.conf.py").write_text("# benchmark: settings on the command line\n")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}:{work}",
        "TMPDIR": str(tmpdir),
        "BENCH_INSTANCE": str(instance),
        "BENCH_MAX_FILE": str(size + MB),
        "APP_ENV": "development",
        "BENCH_STORAGE": args.storage_dir or "",
        "BENCH_READ_AHEAD": "0" if args.no_read_ahead else "1",
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "-c", str(work / "gunicorn.conf.py"),
            "--chdir", str(work),
            "-b", f"127.0.0.1:{port}",
            "-w", "1", "-k", "gthread", "--threads", "2",
            "--timeout", "600", "--log-level", "warning",
            "bench_app:app",
        ],
        env=env,
        start_new_session=True,
    )  # fmt: skip
    try:
        for _ in range(300):
            try:
                status, _, cookie, data = send(port, "/bench/login", (0, iter([])), {})
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("gunicorn did not start")
        pid = int(re.search(rb'"pid":\s*(\d+)', data).group(1))
        session = cookie.split(";", 1)[0]
        upload_headers = {
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Cookie": session,
        }
        raw_headers = {"Content-Type": "application/octet-stream"}
        marker = ("PLAINTEXT-" + secrets.token_hex(16)).encode()

        # warm-up: first-request imports, caches, the analysis path
        send(port, "/bench/raw", raw(8 * MB, marker), raw_headers)
        status, _location, _, body = send(
            port, "/quotes/new", multipart(8 * MB, marker), upload_headers
        )
        if status != 303:
            raise SystemExit(f"upload refused: {status} {body[:300]!r}")
        _, _, _, token = send(port, "/bench/api-token", (0, iter([])), {})
        token = re.search(rb'"access_token":\s*"([^"]+)"', token).group(1).decode()
        api_headers = {
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Authorization": f"Bearer {token}",
        }
        status, _, _, body = send(
            port, API_UPLOAD, multipart(8 * MB, marker, api=True), api_headers
        )
        if status != 201:
            raise SystemExit(f"API upload refused: {status} {body[:300]!r}")

        floor_times, upload_times, floor_cpu, upload_cpu, growth = [], [], [], [], {}
        for label, n in (("small", small), ("large", size)):
            growth[label] = []
            for _ in range(args.runs if label == "large" else 1):
                if label == "large":
                    t, c, g, answer = timed(port, pid, "/bench/raw", raw(n, marker), raw_headers)
                    assert answer[0] == 200, answer
                    floor_times.append(t)
                    floor_cpu.append(c)
                t, c, g, answer = timed(
                    port, pid, "/quotes/new", multipart(n, marker), upload_headers
                )
                assert answer[0] == 303, answer[:2]
                if label == "large":
                    upload_times.append(t)
                    upload_cpu.append(c)
                growth[label].append(g)
        api = api_leg(port, pid, args.api_mb * MB, args.runs, marker, api_headers, raw_headers)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)

    floor, upload = statistics.median(floor_times), statistics.median(upload_times)
    ratio = upload / floor
    best_ratio = min(upload_times) / min(floor_times)
    cpu_ratio = statistics.median(upload_cpu) / statistics.median(floor_cpu)
    grow_small = max(growth["small"]) / 1024
    grow_large = max(growth["large"]) / 1024
    leftovers = [p for p in tmpdir.rglob("*") if p.is_file()]
    leaked = files_with(marker, tmpdir) + files_with(marker, instance)
    blobs = sum(p.stat().st_size for p in (instance / "blobs").rglob("*") if p.is_file())

    mbs = size / MB
    print(f"payload: {args.size_mb} MB drawing in one multipart body, {args.runs} runs (median)")
    print(f"floor  (read and discard the raw body): {floor:6.2f} s  {mbs / floor:7.1f} MB/s")
    print(f"upload (parse, encrypt, store, commit): {upload:6.2f} s  {mbs / upload:7.1f} MB/s")
    print(
        f"floor runs: {' '.join(f'{t:.2f}' for t in floor_times)} s; "
        f"upload runs: {' '.join(f'{t:.2f}' for t in upload_times)} s"
    )
    print(
        f"worker CPU per request (median): floor {statistics.median(floor_cpu):.2f} s, "
        f"upload {statistics.median(upload_cpu):.2f} s, ratio {cpu_ratio:.2f}x"
    )
    print(f"ratio upload/floor, best run of each: {best_ratio:.2f}x")
    print(
        f"ratio upload/floor, medians: {ratio:.2f}x (goal <= 3x)  {'PASS' if ratio <= 3 else 'MISS'}"
    )
    print(
        f"worker RSS growth: {grow_small:.1f} MB for {args.small_mb} MB, "
        f"{grow_large:.1f} MB for {args.size_mb} MB (goal <= 16 MB)  "
        f"{'PASS' if max(grow_small, grow_large) <= 16 else 'MISS'}"
    )
    print(
        f"plaintext on disk: {len(leaked)} file(s) with the marker; {len(leftovers)} file(s) left "
        f"in $TMPDIR  {'PASS' if not leaked and not leftovers else 'MISS'}"
    )
    if api:
        api_floor, api_upload = statistics.median(api["floor"]), statistics.median(api["upload"])
        api_ratio, api_growth = api_upload / api_floor, max(api["growth"]) / 1024
        print(
            f"API upload (POST {API_UPLOAD}, bearer): {args.api_mb} MB, {args.runs} runs (median): "
            f"floor {api_floor:.2f} s, upload {api_upload:.2f} s "
            f"({' '.join(f'{t:.2f}' for t in api['upload'])} s)"
        )
        print(
            f"API ratio upload/floor, medians: {api_ratio:.2f}x (goal <= 3x)  "
            f"{'PASS' if api_ratio <= 3 else 'MISS'}"
        )
        print(
            f"API worker RSS growth: {api_growth:.1f} MB (goal <= 16 MB)  "
            f"{'PASS' if api_growth <= 16 else 'MISS'}"
        )
    print(f"ciphertext stored: {blobs / MB:.0f} MB in {instance / 'blobs'}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
