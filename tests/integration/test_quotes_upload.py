"""POST /quotes/new: streamed into encrypted storage; every refusal stores nothing at all."""

from __future__ import annotations

import io
import secrets
import time

import pytest
from test_quotes_support import (
    csrf_token_from_page,
    cube_stl,
    files_containing,
    multipart,
    pdf_bytes,
    plaintext_roots,
    post_quote,
    quote_fields,
    stored_files,
)

from xometry_site.models import Drawing, Quote


@pytest.fixture
def marker() -> bytes:
    """Bytes that exist only inside the uploaded drawing: found on disk = plaintext leaked."""
    return ("PLAINTEXT-MARKER-" + secrets.token_hex(12)).encode()


@pytest.fixture
def started() -> float:
    return time.time()


def quote_count(db) -> int:
    return db.session.query(Quote).count() + db.session.query(Drawing).count()


def assert_nothing_stored(app, db):
    db.session.rollback()
    assert quote_count(db) == 0
    assert stored_files(app) == []


# --- the form ------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get("/quotes/new")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    body, content_type = multipart(quote_fields(), [("a.stl", cube_stl())])
    response = client.post("/quotes/new", data=body, content_type=content_type)
    assert response.status_code == 302
    assert quote_count(db) == 0


def test_unverified_accounts_cannot_request_quotes(app, client, db, make_user, login_as):
    user = make_user(email_verified_at=None)
    login_as(user)
    assert client.get("/quotes/new").status_code in (302, 403)
    response = post_quote(client, [("part.stl", cube_stl())])
    assert response.status_code in (302, 403)
    assert_nothing_stored(app, db)


def test_form_has_the_contract_fields_and_works_without_javascript(client, customer):
    html = client.get("/quotes/new").get_data(as_text=True)
    for name in ("files", "process", "material", "finish", "quantity", "notes", "csrf_token"):
        assert f'name="{name}"' in html
    assert 'enctype="multipart/form-data"' in html
    assert "multiple" in html
    assert html.index('name="csrf_token"') < html.index('name="files"')  # token first
    assert "<script>" not in html  # CSP: no inline script
    assert "js/upload.js" in html


# --- success ---------------------------------------------------------------------------------


def test_upload_stores_encrypted_drawings_and_redirects_to_the_quote(
    app, client, db, customer, marker, started
):
    stl = cube_stl(header=marker)
    response = post_quote(client, [("零件.stl", stl), ("drawing.pdf", pdf_bytes(marker.decode()))])
    assert response.status_code == 303
    quote = db.session.scalar(db.select(Quote))
    assert response.headers["Location"].endswith(f"/quotes/{quote.ref}")
    assert quote.user_id == customer.id
    names = sorted(d.filename for d in quote.drawings)
    assert names == ["drawing.pdf", "零件.stl"]
    stl_row = next(d for d in quote.drawings if d.extension == "stl")
    assert stl_row.size == len(stl)
    assert stl_row.key_id and stl_row.wrapped_key
    # ciphertext only, under random names; the marker is nowhere on disk
    blobs = stored_files(app)
    assert stl_row.blob_id in {p.name for p in blobs}
    assert all("零件" not in p.name for p in blobs)
    assert files_containing(marker, plaintext_roots(app), started) == []


def test_javascript_clients_get_json_with_the_quote_address(app, client, db, customer):
    response = post_quote(
        client, [("part.stl", cube_stl())], headers={"Accept": "application/json"}
    )
    assert response.status_code == 201
    quote = db.session.scalar(db.select(Quote))
    assert response.get_json() == {"redirect": f"/quotes/{quote.ref}"}


def test_refusals_answer_javascript_clients_in_json(app, client, db, customer):
    response = post_quote(client, [("virus.exe", b"MZ...")], headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert "virus.exe" in response.get_json()["errors"][0]
    assert_nothing_stored(app, db)


def test_empty_text_fields_are_parsed_correctly(app, client, db, customer):
    response = post_quote(client, [("part.stl", cube_stl())], finish="", notes="")
    assert response.status_code == 303
    quote = db.session.scalar(db.select(Quote))
    assert quote.finish == "as_machined"  # "" = the process's standard finish
    assert quote.notes is None


# --- CSRF -------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_missing_or_wrong_csrf_token_is_refused_before_storing(app, client, db, customer, token):
    app.config["WTF_CSRF_ENABLED"] = True
    response = post_quote(client, [("part.stl", cube_stl())], csrf=token)
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)  # "Your form expired…"
    assert_nothing_stored(app, db)


def test_valid_csrf_token_is_accepted(app, client, db, customer):
    app.config["WTF_CSRF_ENABLED"] = True
    token = csrf_token_from_page(client)
    response = post_quote(client, [("part.stl", cube_stl())], csrf=token)
    assert response.status_code == 303


def test_csrf_token_after_the_files_is_refused(app, client, db, customer):
    app.config["WTF_CSRF_ENABLED"] = True
    token = csrf_token_from_page(client)
    fields = quote_fields()
    body, content_type = multipart(fields, [("part.stl", cube_stl())])
    # move the token behind the file part
    extra, _ = multipart([("csrf_token", token)], [], boundary=content_type.split("=", 1)[1])
    body = body[: body.rindex(b"--" + content_type.split("=", 1)[1].encode() + b"--")]
    body += extra[extra.index(b"--") :]
    response = client.post("/quotes/new", data=body, content_type=content_type)
    assert response.status_code == 400
    assert_nothing_stored(app, db)


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "data", "words"),
    [
        ("notes.txt", b"hello", "notes.txt"),
        ("part", cube_stl(), "part"),
        ("part.stl.exe", b"MZ\x90\x00", "part.stl.exe"),
        ("fake.pdf", b"<html><script>alert(1)</script></html>", "fake.pdf"),
        ("fake.step", b"%PDF-1.4 not a step file", "fake.step"),
        ("fake.stl", b"PK\x03\x04" + b"\x00" * 200, "fake.stl"),
        ("empty.stl", b"", "empty.stl"),
        ("fake.dwg", b"%PDF-1.7", "fake.dwg"),
    ],
)
def test_bad_files_are_refused_by_name_and_nothing_of_the_request_is_kept(
    app, client, db, customer, filename, data, words
):
    good = ("good.stl", cube_stl())
    response = post_quote(client, [good, (filename, data)])
    assert response.status_code == 400
    assert words in response.get_data(as_text=True)
    assert_nothing_stored(app, db)  # not even good.stl, which came first


def test_choices_survive_a_refusal(app, client, db, customer):
    response = post_quote(client, [("x.txt", b"x")], quantity="7", material="al7075")
    html = response.get_data(as_text=True)
    assert 'value="7"' in html
    assert 'value="al7075" selected' in html


def test_invalid_form_stores_nothing(app, client, db, customer):
    response = post_quote(client, [("part.stl", cube_stl())], quantity="0")
    assert response.status_code == 400
    assert_nothing_stored(app, db)
    response = post_quote(client, [("part.stl", cube_stl())], material="pla")  # FDM only
    assert response.status_code == 400
    assert_nothing_stored(app, db)


def test_no_file_is_refused(app, client, db, customer):
    response = post_quote(client, [])
    assert response.status_code == 400
    assert "至少" in response.get_data(as_text=True) or "at least" in response.get_data(
        as_text=True
    )
    assert_nothing_stored(app, db)


def test_an_empty_file_input_is_ignored(app, client, db, customer):
    """A browser sends an empty part with filename="" for a file input left empty."""
    response = post_quote(client, [("", b""), ("part.stl", cube_stl())])
    assert response.status_code == 303
    assert db.session.query(Drawing).count() == 1


class TestLimits:
    @pytest.fixture
    def app_config(self):
        return {"UPLOAD_MAX_FILE_SIZE": 4096, "UPLOAD_MAX_FILES": 2}

    def test_oversize_file_gets_the_413_page_and_nothing_is_stored(self, app, client, db, customer):
        big = cube_stl() + b"\0" * 5000
        response = post_quote(client, [("small.stl", cube_stl()), ("big.stl", big)])
        assert response.status_code == 413
        html = response.get_data(as_text=True)
        assert "big.stl" in html and "413" in html
        assert_nothing_stored(app, db)

    def test_too_many_files_are_refused(self, app, client, db, customer):
        files = [(f"p{i}.stl", cube_stl()) for i in range(3)]
        response = post_quote(client, files)
        assert response.status_code == 400
        assert "2" in response.get_data(as_text=True)
        assert_nothing_stored(app, db)

    def test_body_over_max_content_length_is_refused_before_reading(
        self, app, client, db, customer
    ):
        app.config["MAX_CONTENT_LENGTH"] = 10_000
        response = post_quote(client, [("a.stl", cube_stl()), ("b.pdf", pdf_bytes() * 400)])
        assert response.status_code == 413
        assert_nothing_stored(app, db)

    def test_a_chunked_body_gets_the_per_file_message_however_long_it_is(
        self, app, client, db, customer
    ):
        """No Content-Length, more than MAX_CONTENT_LENGTH: the answer names the file, as with a
        length; reading on after the refusal used to end in the generic "too large" page."""
        app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
        big = cube_stl() + b"\0" * (256 * 1024)
        body, content_type = multipart(quote_fields(), [("big.stl", big)])
        chunked = {
            "wsgi.input": io.BytesIO(body),
            "wsgi.input_terminated": True,  # as a server that decodes chunked bodies says
            "CONTENT_TYPE": content_type,
        }
        response = client.post(
            "/quotes/new?lang=en",
            headers={"Transfer-Encoding": "chunked"},
            environ_overrides=chunked,
        )
        assert response.status_code == 413
        html = response.get_data(as_text=True)
        assert "big.stl is larger than" in html and "Nothing was stored." in html
        assert_nothing_stored(app, db)

    def test_too_many_form_parts_are_refused(self, app, client, db, customer):
        app.config["MAX_FORM_PARTS"] = 8
        fields = quote_fields() + [(f"x{i}", "y") for i in range(10)]
        body, content_type = multipart(fields, [("a.stl", cube_stl())])
        response = client.post("/quotes/new", data=body, content_type=content_type)
        assert response.status_code == 413
        assert_nothing_stored(app, db)

    def test_oversized_text_fields_are_refused(self, app, client, db, customer):
        app.config["MAX_FORM_MEMORY_SIZE"] = 1000
        response = post_quote(client, [("a.stl", cube_stl())], notes="x" * 2000)
        assert response.status_code == 413
        assert_nothing_stored(app, db)


# --- interrupted uploads -------------------------------------------------------------------------


class EndsEarly(io.RawIOBase):
    """A request body that stops (or fails) after `limit` bytes, like a dropped connection."""

    def __init__(self, data: bytes, limit: int, fail: bool) -> None:
        self._data = io.BytesIO(data[:limit])
        self._fail = fail

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._data.readinto(buffer)
        if n == 0 and self._fail:
            raise OSError("connection reset by peer")
        return n


@pytest.mark.parametrize("fail", [False, True], ids=["ends-early", "raises"])
def test_upload_cut_off_midway_leaves_no_row_no_blob_no_plaintext(
    app, client, db, customer, marker, started, fail
):
    payload = cube_stl(header=marker, repeat=2000) + marker * 1000
    payload = payload[: len(payload) - len(payload[84:]) % 50]
    body, content_type = multipart(quote_fields(), [("part.stl", payload)])
    cut = len(body) * 2 // 3
    environ = {
        "wsgi.input": io.BufferedReader(EndsEarly(body, cut, fail)),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": content_type,
    }
    response = client.post("/quotes/new", environ_overrides=environ)
    assert response.status_code == 400
    assert_nothing_stored(app, db)
    assert files_containing(marker, plaintext_roots(app), started) == []


def test_body_without_closing_boundary_is_refused(app, client, db, customer):
    body, content_type = multipart(quote_fields(), [("part.stl", cube_stl())])
    body = body[: body.rindex(b"\r\n--")]
    response = client.post("/quotes/new", data=body, content_type=content_type)
    assert response.status_code == 400
    assert_nothing_stored(app, db)


def test_not_multipart_is_refused(app, client, db, customer):
    response = client.post("/quotes/new", data=b"process=cnc", content_type="text/plain")
    assert response.status_code == 400
    assert_nothing_stored(app, db)


@pytest.mark.parametrize(
    ("where", "lang", "message"),
    [
        (b'filename="part.stl"', "", "无法读取文件名或表单字段名"),
        (b'name="quantity"', "?lang=en", "A file name or form field name could not be read"),
    ],
)
def test_a_name_that_is_not_utf8_is_refused_in_the_visitors_language(
    app, client, db, customer, where, lang, message
):
    body, content_type = multipart(quote_fields(), [("part.stl", cube_stl())])
    assert where in body
    body = body.replace(where, where.replace(b'="', b'="\xff\xfe', 1))
    response = client.post(f"/quotes/new{lang}", data=body, content_type=content_type)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert_nothing_stored(app, db)
