"""Request bodies: MAX_CONTENT_LENGTH only for the drawing upload; every other request is capped
at MAX_FORM_MEMORY_SIZE and refused with the 413 page before its body is read."""

from __future__ import annotations

import io
import socket
import time

import pytest
from test_quotes_support import cube_stl, post_quote

from xometry_site.body_limits import UPLOAD_ENDPOINTS

FORM = "application/x-www-form-urlencoded"
DECLARED = 200 * 1024 * 1024  # the 200 MB POST of issue 18


class Endless(io.RawIOBase):
    """A request body that never ends, counting what was read; past `fail_after` bytes it fails
    the request (a server that reads that far would hold it all in memory)."""

    def __init__(self, fail_after: int) -> None:
        self.fail_after = fail_after
        self.read_so_far = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.read_so_far >= self.fail_after:
            raise AssertionError(f"the body was read past {self.fail_after} bytes")
        n = min(len(buffer), self.fail_after - self.read_so_far)
        buffer[:n] = b"a" * n
        self.read_so_far += n
        return n


def test_a_declared_oversize_form_is_refused_without_reading_a_byte(app, client):
    body = Endless(fail_after=1)
    response = client.post(
        "/login",
        content_type=FORM,
        environ_overrides={"wsgi.input": body, "CONTENT_LENGTH": str(DECLARED)},
    )
    assert response.status_code == 413
    assert "文件过大" in response.get_data(as_text=True)
    assert body.read_so_far == 0


def test_a_chunked_form_is_cut_off_at_max_form_memory_size(app, client):
    """No Content-Length (chunked, from a server that terminates the stream): Werkzeug's limited
    stream stops reading at the cap, so the form arrives cut short and is refused as incomplete."""
    cap = app.config["MAX_FORM_MEMORY_SIZE"]
    body = Endless(fail_after=cap + 64 * 1024)
    response = client.post(
        "/login",
        content_type=FORM,
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input": body, "wsgi.input_terminated": True},
    )
    assert body.read_so_far == cap
    assert response.status_code == 200  # the sign-in form again, nobody signed in
    assert "Location" not in response.headers


def test_forms_within_the_cap_are_read_as_before(app, client, user):
    response = client.post(
        "/login", data={"email": user.email, "password": "x" * (64 * 1024)}, content_type=FORM
    )
    assert response.status_code == 200  # the form's own answer (wrong password), not a 413


def test_the_upload_endpoints_named_exist(app):
    """A renamed upload view would otherwise fall under the form cap unnoticed."""
    assert UPLOAD_ENDPOINTS.issubset(app.view_functions)


class TestUploadKeepsMaxContentLength:
    @pytest.fixture
    def app_config(self):
        return {"MAX_FORM_MEMORY_SIZE": 4096}

    def test_a_drawing_larger_than_the_form_cap_is_accepted(self, app, client, db, customer):
        stl = cube_stl(repeat=40)  # about 20 KB, five times the cap
        assert len(stl) > 4 * app.config["MAX_FORM_MEMORY_SIZE"]
        response = post_quote(client, [("big.stl", stl)])
        assert response.status_code == 303

    def test_other_forms_over_the_cap_are_refused(self, app, client, user):
        response = client.post(
            "/login", data={"email": user.email, "password": "x" * 8192}, content_type=FORM
        )
        assert response.status_code == 413


def http_exchange(port: int, head: bytes, timeout: float) -> bytes:
    """Send `head` (request line, headers, a few body bytes) and read the answer until the server
    closes or `timeout` passes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(head)
        answer = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data = conn.recv(65536)
            except TimeoutError:
                break
            if not data:
                break
            answer += data
        return answer


@pytest.mark.parametrize(("lang", "title"), [("zh_CN", "文件过大"), ("en", "File too large")])
def test_live_server_answers_a_200_mb_login_post_at_once(live_server, lang, title):
    """Content-Length 200 MB, a few bytes sent: the 413 page comes back while the client is
    still 'sending', so nothing waited for (or kept) the body."""
    head = (
        f"POST /login?lang={lang} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{live_server.port}\r\n"
        f"Content-Type: {FORM}\r\n"
        f"Content-Length: {DECLARED}\r\n"
        "Connection: close\r\n"
        "\r\n"
        "email=a%40example.com&password="
    ).encode()
    started = time.monotonic()
    answer = http_exchange(live_server.port, head, timeout=5)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert title in answer.decode("utf-8", "replace")
    assert time.monotonic() - started < 4
