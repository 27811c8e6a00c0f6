"""A refused upload is answered at once, without reading the rest of its body, and the server then
ends the connection: on Werkzeug's development server (what `make run` serves), on gunicorn as
gunicorn.conf.py runs it (gthread), and through the deployed nginx in front of gunicorn.

Each test over a raw socket announces a 2 GB body (Content-Length, or chunked without a length),
sends the form and a file that breaks the 1 MB per-file limit (or gives itself away by its first
bytes), keeps sending at most a few MB more, then stops and waits: the per-file answer must come,
and the connection must end, although almost all of the announced body was never sent.
"""

from __future__ import annotations

import itertools
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from conftest import PASSWORD, cannot_run, free_port, wait_for
from nginx_support import Nginx, nginx_binary
from test_quotes_support import cube_stl, multipart, quote_fields

from xometry_site.models import Drawing, Quote

ROOT = Path(__file__).resolve().parents[2]
PER_FILE = 1024 * 1024  # UPLOAD_MAX_FILE_SIZE in these tests
ANNOUNCED = 2_000_000_000  # under MAX_CONTENT_LENGTH (2 GB + 1 MB): the upload view decides
BUDGET = 8 * PER_FILE  # body bytes a client sends at most before it stops and waits
TIMEOUT = 30.0  # seconds to wait for the answer and the end of the connection (a loaded machine)
TOO_LARGE = {
    "en": "big.stl is larger than 1 MB. Nothing was stored.",
    "zh_CN": "big.stl 超过 1 MB。本次上传的文件均未保存。",
}
NOT_A_PDF = "fake.pdf: the content does not match its file type. Nothing was stored."


@pytest.fixture
def app_config():
    return {"UPLOAD_MAX_FILE_SIZE": PER_FILE}


# --- a client that stops sending -----------------------------------------------------------------


@dataclass
class Exchange:
    answer: bytes
    sent: int  # body bytes sent after the head
    ended: bool  # the server closed or reset the connection

    @property
    def status(self) -> int:
        return int(self.answer.split(b" ", 2)[1]) if self.answer else 0

    @property
    def text(self) -> str:
        return self.answer.partition(b"\r\n\r\n")[2].decode("utf-8", "replace")


@dataclass
class Visitor:
    """A signed-in account as seen over HTTP: its cookies and the upload form's CSRF token."""

    cookie: str
    csrf: str


def sign_in(base: str, email: str) -> Visitor:
    """Through the real sign-in form, then the upload page for its token."""
    http = requests.Session()
    page = http.get(base + "/login", timeout=TIMEOUT).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    data = {"csrf_token": token, "email": email, "password": PASSWORD}
    signed_in = http.post(base + "/login", data=data, allow_redirects=False, timeout=TIMEOUT)
    assert signed_in.status_code in (302, 303), signed_in.status_code
    page = http.get(base + "/quotes/new", timeout=TIMEOUT).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return Visitor("; ".join(f"{c.name}={c.value}" for c in http.cookies), token)


def refused_upload(
    port: int,
    visitor: Visitor,
    filename: str,
    first_bytes: bytes,
    *,
    chunked: bool,
    lang: str = "en",
    json: bool = True,
    csrf: str | None = None,
) -> Exchange:
    """POST /quotes/new announcing ANNOUNCED bytes: the form, then `filename` starting with
    `first_bytes` and going on with zeros for as long as the server takes them (BUDGET at most)."""
    body, content_type = multipart(quote_fields(csrf or visitor.csrf), [(filename, first_bytes)])
    start = body[: body.index(first_bytes) + len(first_bytes)]
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {ANNOUNCED}"
    head = (
        f"POST /quotes/new?lang={lang} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"Cookie: {visitor.cookie}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Accept: {'application/json' if json else 'text/html'}\r\n"
        f"{framing}\r\n\r\n"
    ).encode()
    zeros = b"\0" * 65536
    if chunked:
        start, zeros = (b"%x\r\n%s\r\n" % (len(p), p) for p in (start, zeros))
    return send_then_wait(port, head + start, itertools.repeat(zeros), BUDGET)


def send_then_wait(port: int, head: bytes, body: Iterator[bytes], budget: int) -> Exchange:
    """Send `head`, then pieces of `body` while the server takes them, up to `budget` bytes,
    reading all the while; then only read, until the server ends the connection or TIMEOUT."""
    answer, sent, ended, outgoing = bytearray(), 0, False, b""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as conn:
        conn.sendall(head)
        conn.setblocking(False)
        sending = True
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            readable, writable, _ = select.select([conn], [conn] if sending else [], [], 0.2)
            if readable:
                try:
                    data = conn.recv(65536)
                except ConnectionResetError:
                    ended = True
                    break
                if not data:
                    ended = True
                    break
                answer += data
            if writable:
                outgoing = outgoing or next(body)
                try:
                    n = conn.send(outgoing[: budget - sent])
                except (BrokenPipeError, ConnectionResetError):  # reset: read what it said
                    sending = False
                    continue
                sent, outgoing = sent + n, outgoing[n:]
                sending = sent < budget
    return Exchange(bytes(answer), sent, ended)


def assert_answered_early(result: Exchange, status: int, message: str) -> None:
    assert result.status == status, result.answer[:300]
    assert message in result.text, result.text[:2000]
    assert result.ended, "the server kept the connection open, waiting for the rest of the body"
    assert result.sent < ANNOUNCED // 100  # nearly all of the announced body was never sent


def blobs(instance: Path) -> set[Path]:
    root = instance / "blobs"
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def assert_nothing_stored(db, instance: Path, blobs_before: set[Path]) -> None:
    db.session.rollback()
    assert db.session.query(Quote).count() == 0
    assert db.session.query(Drawing).count() == 0
    assert blobs(instance) == blobs_before


# --- the development server ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chunked", "lang", "json"),
    [(False, "en", True), (True, "zh_CN", False)],
    ids=["content-length-en-json", "chunked-zh-html"],
)
def test_the_development_server_refuses_a_too_large_first_file_at_once(
    live_server, app, db, make_user, chunked, lang, json
):
    visitor = sign_in(live_server.url, make_user().email)
    before = blobs(Path(app.instance_path))
    result = refused_upload(
        live_server.port, visitor, "big.stl", cube_stl(), chunked=chunked, lang=lang, json=json
    )
    assert_answered_early(result, 413, TOO_LARGE[lang])
    assert_nothing_stored(db, Path(app.instance_path), before)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_the_development_server_refuses_a_file_by_its_first_bytes_at_once(
    live_server, app, db, make_user, chunked
):
    visitor = sign_in(live_server.url, make_user().email)
    before = blobs(Path(app.instance_path))
    windows_program = b"MZ" + b"\0" * 8192  # named .pdf: refused after 4 KB, not 8 MB
    result = refused_upload(live_server.port, visitor, "fake.pdf", windows_program, chunked=chunked)
    assert_answered_early(result, 400, NOT_A_PDF)
    assert_nothing_stored(db, Path(app.instance_path), before)


def test_a_form_refused_before_its_files_ends_the_connection_too(live_server, make_user):
    """An expired CSRF token: answered before the first file is read, not after the last."""
    visitor = sign_in(live_server.url, make_user().email)
    result = refused_upload(
        live_server.port, visitor, "part.stl", cube_stl(), chunked=True, csrf="expired"
    )
    assert_answered_early(result, 400, "Your form expired")


# --- gunicorn, as gunicorn.conf.py runs it -------------------------------------------------------


@dataclass
class Gunicorn:
    port: int
    instance: Path
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory, database_url, _schema) -> Iterator[Gunicorn]:
    """`gunicorn -c gunicorn.conf.py` (gthread, keep-alive on) serving the development config on
    the test database, with the 1 MB per-file limit."""
    workdir = tmp_path_factory.mktemp("gunicorn")
    server = Gunicorn(free_port(), workdir / "instance", workdir / "gunicorn.log")
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "CI")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        APP_ENV="development",
        DATABASE_URL=database_url,
        INSTANCE_PATH=str(server.instance),
        SECRET_KEY="early-refusal-test-" + "k" * 32,
        UPLOAD_MAX_FILE_SIZE=str(PER_FILE),
        GUNICORN_BIND=f"127.0.0.1:{server.port}",
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="4",
        GUNICORN_GRACEFUL_TIMEOUT="3",
    )
    with open(server.log, "ab") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{server.log.read_text()[-3000:]}")
        try:
            return requests.get(server.url + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        assert wait_for(ready, timeout=60, interval=0.2), server.log.read_text()[-3000:]
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_gunicorn_refuses_a_too_large_first_file_at_once(gunicorn, db, make_user, chunked):
    visitor = sign_in(gunicorn.url, make_user().email)
    before = blobs(gunicorn.instance)
    result = refused_upload(gunicorn.port, visitor, "big.stl", cube_stl(), chunked=chunked)
    assert_answered_early(result, 413, TOO_LARGE["en"])
    assert_nothing_stored(db, gunicorn.instance, before)


def test_gunicorn_refuses_a_file_by_its_first_bytes_at_once(gunicorn, db, make_user):
    visitor = sign_in(gunicorn.url, make_user().email)
    before = blobs(gunicorn.instance)
    windows_program = b"MZ" + b"\0" * 8192
    result = refused_upload(gunicorn.port, visitor, "fake.pdf", windows_program, chunked=True)
    assert_answered_early(result, 400, NOT_A_PDF)
    assert_nothing_stored(db, gunicorn.instance, before)


def test_through_nginx_the_refusal_arrives_and_the_next_upload_goes_through(
    gunicorn, db, make_user, tmp_path
):
    """The deployed nginx buffers the whole body, then meets gunicorn's early answer and closed
    connection: the customer gets the per-file message (not a 502), and nginx does not reuse
    that connection for the next upload."""
    if nginx_binary() is None:
        cannot_run("nginx is not installed (apt-get install nginx-light)")
    nginx = Nginx(tmp_path / "nginx", f"127.0.0.1:{gunicorn.port}").start()
    try:
        visitor = sign_in(gunicorn.url, make_user().email)
        before = blobs(gunicorn.instance)

        def upload(files: list[tuple[str, bytes]]) -> requests.Response:
            body, content_type = multipart(quote_fields(visitor.csrf), files)
            headers = {"Cookie": visitor.cookie, "Accept": "application/json"}
            return requests.post(
                nginx.url + "/quotes/new?lang=en",
                data=body,
                headers={**headers, "Content-Type": content_type},
                timeout=TIMEOUT,
            )

        refused = upload([("big.stl", cube_stl() + b"\0" * (8 * PER_FILE))])
        assert refused.status_code == 413, (refused.text[:300], nginx.error_log()[-2000:])
        assert refused.json() == {"errors": [TOO_LARGE["en"]]}
        assert_nothing_stored(db, gunicorn.instance, before)
        accepted = upload([("part.stl", cube_stl())])
        assert accepted.status_code == 201, (accepted.text[:300], nginx.error_log()[-2000:])
        assert accepted.json()["redirect"].startswith("/quotes/Q-")
    finally:
        nginx.stop()
