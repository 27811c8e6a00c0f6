"""The worker's HTTP cache keeps what the app marks public, and nothing else."""

from __future__ import annotations

from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from xometry_site.http_cache import HttpCache


class Counting:
    """A tiny WSGI app answering what each test asks, counting the calls that reach it."""

    def __init__(self, **response_kwargs):
        self.calls = 0
        self.response_kwargs = response_kwargs

    def __call__(self, environ, start_response):
        self.calls += 1
        request = Request(environ)
        kwargs = dict(self.response_kwargs)
        body = kwargs.pop("body", None) or f"lang={request.headers.get('Accept-Language')}"
        response = Response(body, **kwargs)
        return response(environ, start_response)


PUBLIC = {
    "headers": {
        "Cache-Control": "public, max-age=300",
        "ETag": '"v1"',
        "Vary": "Accept-Language, Cookie",
    }
}


class Reading(Client):
    """A client that reads every body whole, as a browser does."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        response.get_data()
        return response


def cached(app, entries=16):
    return Reading(HttpCache(app, bypass_cookies=("session", "remember_token"), entries=entries))


def test_a_public_answer_is_kept_per_varying_header():
    app = Counting(**PUBLIC)
    client = cached(app)
    assert client.get("/", headers={"Accept-Language": "en"}).get_data() == b"lang=en"
    assert client.get("/", headers={"Accept-Language": "en"}).get_data() == b"lang=en"
    assert app.calls == 1
    assert client.get("/", headers={"Accept-Language": "zh-CN"}).get_data() == b"lang=zh-CN"
    assert app.calls == 2
    client.set_cookie("cookie_consent", "necessary")  # Vary: Cookie
    client.get("/", headers={"Accept-Language": "en"})
    assert app.calls == 3


def test_a_matching_etag_is_answered_304_from_memory():
    app = Counting(**PUBLIC)
    client = cached(app)
    client.get("/x").get_data()
    again = client.get("/x", headers={"If-None-Match": '"v1"'})
    assert again.status_code == 304 and again.get_data() == b"" and app.calls == 1
    assert client.get("/x", headers={"If-None-Match": '"v0"'}).status_code == 200


def test_session_cookies_go_to_the_app_and_are_never_kept():
    app = Counting(**PUBLIC)
    client = cached(app)
    client.set_cookie("session", "abc")
    client.get("/")
    client.get("/")
    assert app.calls == 2
    bare = cached(app)
    bare.set_cookie("remember_token", "abc")
    bare.get("/")
    assert app.calls == 3


def test_private_uncacheable_and_cookie_setting_answers_are_not_kept():
    for headers in (
        {"Cache-Control": "private, max-age=300"},
        {"Cache-Control": "public, no-store"},
        {"Cache-Control": "public"},  # no lifetime
        {"Cache-Control": "public, max-age=300", "Set-Cookie": "lang=en"},
        {"Cache-Control": "public, max-age=300", "Vary": "*"},
    ):
        app = Counting(headers=headers)
        client = cached(app)
        client.get("/")
        client.get("/")
        assert app.calls == 2, headers
    app = Counting(status=404, **PUBLIC)
    client = cached(app)
    client.get("/")
    client.get("/")
    assert app.calls == 2


def test_posts_are_never_answered_from_memory():
    app = Counting(**PUBLIC)
    client = cached(app)
    client.get("/")
    client.post("/")
    assert app.calls == 2


def test_a_lapsed_answer_is_asked_for_again(monkeypatch):
    import xometry_site.http_cache as http_cache

    now = [1000.0]
    monkeypatch.setattr(http_cache.time, "monotonic", lambda: now[0])
    app = Counting(**PUBLIC)
    client = cached(app)
    client.get("/")
    now[0] += 299
    client.get("/")
    assert app.calls == 1
    now[0] += 2
    client.get("/")
    assert app.calls == 2


def test_the_number_of_answers_kept_is_bounded():
    app = Counting(**PUBLIC)
    client = cached(app, entries=2)
    for path in ("/a", "/b", "/c", "/a"):
        client.get(path)
    assert app.calls == 4  # /a was the oldest and made room for /c


def test_an_answer_the_visitor_stopped_reading_is_not_kept():
    app = Counting(**PUBLIC)
    wsgi = HttpCache(app, bypass_cookies=(), entries=4)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "wsgi.url_scheme": "http"}
    body = wsgi(environ, lambda status, headers, exc_info=None: None)
    body.close()  # the connection dropped before the first chunk went out
    wsgi(environ, lambda status, headers, exc_info=None: None)
    assert app.calls == 2


def test_many_addresses_leave_no_more_than_the_bound_behind():
    app = Counting(**PUBLIC)
    cache = HttpCache(app, bypass_cookies=(), entries=4)
    client = Reading(cache)
    for n in range(50):
        client.get(f"/policy?x={n}")
    assert len(cache.kept) == 4 and len(cache.vary) <= 2 * 4


def test_head_is_answered_from_memory_without_a_body():
    app = Counting(**PUBLIC)
    client = cached(app)
    client.get("/")
    head = client.head("/")
    assert head.status_code == 200 and head.get_data() == b"" and app.calls == 1
