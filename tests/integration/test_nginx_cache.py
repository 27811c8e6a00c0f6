"""The deployed nginx in front of the production app: what it caches, for whom, and how big a body it
takes.

Debian's /usr/sbin/nginx runs deploy/nginx/xometry.conf itself (on loopback, without TLS: see
nginx_support.py) in front of one gunicorn instance in production mode on PostgreSQL and Redis
(production_support.py). Visitors are plain HTTP clients with their own cookie jars. nginx's
`X-Cache-Status` says where a page came from; the app's own access log says whether it was asked.
"""

from __future__ import annotations

import json
import re
import struct
import time

import pytest
from conftest import PASSWORD, cannot_run
from nginx_support import Nginx, nginx_binary
from production_support import (
    SITE_HOST,
    Instance,
    Visitor,
    create_user,
    fresh_database,
    migrate,
    production_env,
    redis_url,
    s3_endpoint,
)

pytestmark = pytest.mark.slow
__all__ = ["fresh_database", "redis_url", "s3_endpoint"]  # module fixtures used below

EMAIL = "cached@example.com"
SIGNED_IN = 'action="/logout"'  # the sign-out form, on every page of a signed-in visitor
BANNER = 'id="cookie-banner"'
ORIGIN = f"https://{SITE_HOST}"


class Browser(Visitor):
    """A visitor at nginx: it names the site in Host (nginx passes `$host` on to the app)."""

    def headers(self, extra: dict | None = None) -> dict:
        return super().headers({"Host": SITE_HOST, **(extra or {})})

    def choose_cookies(self, base: str, choice: str = "accept_all"):
        """The cookie banner's button: a POST without a session, from our own pages."""
        return self.post(
            base,
            "/cookies",
            data={choice: "1"},
            headers={"Origin": ORIGIN, "Sec-Fetch-Site": "same-origin"},
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory, fresh_database, redis_url, s3_endpoint, smtp_server):
    """gunicorn (production mode) with an account, and nginx running the deploy file before it."""
    if nginx_binary() is None:
        cannot_run("nginx is not installed (apt-get install nginx-light)")
    tmp = tmp_path_factory.mktemp("nginx-cache")
    controller, _handler = smtp_server
    env = production_env(tmp, fresh_database, redis_url, s3_endpoint, controller.port)
    migrate(env, fresh_database)
    create_user(fresh_database, env["KEYRING"], EMAIL, tmp)
    app = Instance(env, tmp / "gunicorn.log").start()
    try:
        proxy = Nginx(tmp / "nginx", f"127.0.0.1:{app.port}").start()
    except BaseException:
        app.stop()
        raise
    yield {"url": proxy.url, "app": app, "nginx": proxy}
    proxy.stop()
    app.stop()


def app_requests(site, method: str, path: str) -> int:
    """How many `method path` requests reached the app (its JSON access log). The app writes the
    line once the answer is sent, so the count is read until it stops changing."""

    def count() -> int:
        found = 0
        for line in site["app"].log().splitlines():
            if line.startswith("{") and '"xometry_site.access"' in line:
                entry = json.loads(line)
                found += entry.get("method") == method and entry.get("path") == path
        return found

    last = count()
    for _ in range(50):
        time.sleep(0.3)
        now = count()
        if now == last:
            return now
        last = now
    return last


def cache_status(response) -> str | None:
    return response.headers.get("X-Cache-Status")


def policy_edition(site) -> str:
    """The path of one edition, as the policy page links it (by its name)."""
    page = Browser().get(site["url"], "/policy")
    match = re.search(r'href="(/policy/\d{4})"', page.text)
    assert match, "the policy page lists its editions"
    return match.group(1)


@pytest.mark.parametrize("path", ["/", "/policy", "edition", "/policy/compare", "/cookies"])
def test_an_anonymous_second_visit_is_served_from_the_cache(site, path):
    path = policy_edition(site) if path == "edition" else path
    first = Browser().get(site["url"], path)
    assert first.status_code == 200
    assert "Set-Cookie" not in first.headers, "a first visit starts nothing"
    asked = app_requests(site, "GET", path.split("?")[0])
    second = Browser().get(site["url"], path)
    assert second.status_code == 200
    assert cache_status(second) == "HIT"
    assert app_requests(site, "GET", path.split("?")[0]) == asked, "nginx answered alone"
    assert second.content == first.content
    assert second.headers["Cache-Control"] == "public, max-age=300"
    assert second.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    again = Browser().get(site["url"], path, headers={"If-None-Match": second.headers["ETag"]})
    assert again.status_code == 304 and not again.content


def test_a_signed_in_visitor_is_never_served_a_cached_page(site):
    url = site["url"]
    for _ in range(2):
        Browser().get(url, "/")  # an anonymous home page in the cache
    assert cache_status(Browser().get(url, "/")) == "HIT"

    member = Browser()
    assert member.sign_in(url, EMAIL).status_code == 302
    assert any(c.name == "__Host-session" for c in member.http.cookies)
    for _ in range(2):
        home = member.get(url, "/")
        assert home.status_code == 200
        assert cache_status(home) == "BYPASS"
        assert SIGNED_IN in home.text, "the signed-in visitor sees their own page"
        assert "public" not in home.headers["Cache-Control"]

    anonymous = Browser().get(url, "/")
    assert cache_status(anonymous) == "HIT"
    assert SIGNED_IN not in anonymous.text, "the signed-in page was not stored"


def test_a_remembered_visitor_without_a_session_still_bypasses_the_cache(site):
    url = site["url"]
    for _ in range(2):
        Browser().get(url, "/policy")
    member = Browser()
    member.choose_cookies(url)  # "keep me signed in" needs functional cookies
    token = member.csrf(url, "/login")
    fields = {"csrf_token": token, "email": EMAIL, "password": PASSWORD, "remember": "y"}
    assert member.post(url, "/login", data=fields).status_code == 302
    assert member.http.cookies.get("__Host-remember_token"), "remember me sets its cookie"
    returning = Browser()  # the browser was closed: the session cookie went with it
    for cookie in member.http.cookies:
        if cookie.name != "__Host-session":
            returning.http.cookies.set(cookie.name, cookie.value)
    page = returning.get(url, "/policy")
    assert cache_status(page) == "BYPASS"
    assert SIGNED_IN in page.text


def test_responses_that_set_a_cookie_are_never_cached(site):
    url = site["url"]
    for _ in range(3):
        chosen = Browser().get(url, "/?lang=en")  # the language switch sets the `lang` cookie
        assert chosen.status_code in (200, 302)
        assert "lang=" in chosen.headers.get("Set-Cookie", "")
        assert cache_status(chosen) != "HIT"
    asked = app_requests(site, "POST", "/cookies")
    for _ in range(2):
        choice = Browser().choose_cookies(url)
        assert choice.status_code in (200, 302, 303)
        assert "cookie_consent=" in choice.headers.get("Set-Cookie", "")
        assert cache_status(choice) != "HIT"
    assert app_requests(site, "POST", "/cookies") == asked + 2, "every choice reached the app"


def test_the_cache_answers_each_language_in_its_own(site):
    url = site["url"]
    pages = {}
    for _ in range(2):
        for language in ("en", "zh-CN,zh;q=0.9", "en-US,en;q=0.8"):
            pages[language] = Browser().get(url, "/", headers={"Accept-Language": language})
    for language, page in pages.items():
        assert cache_status(page) == "HIT", language
    english, chinese = "Data Protection Policy", "个人信息保护政策"  # the footer's policy link
    for language in ("en", "en-US,en;q=0.8"):
        assert '<html lang="en"' in pages[language].text and english in pages[language].text
        assert chinese not in pages[language].text
    assert '<html lang="zh-CN"' in pages["zh-CN,zh;q=0.9"].text
    assert chinese in pages["zh-CN,zh;q=0.9"].text

    chosen = Browser()
    assert chosen.get(url, "/?lang=zh_CN", headers={"Accept-Language": "en"}).status_code in (
        200,
        302,
    )
    for _ in range(2):  # the chosen language beats Accept-Language, from the cache too
        home = chosen.get(url, "/", headers={"Accept-Language": "en"})
        assert '<html lang="zh-CN"' in home.text and chinese in home.text
    assert cache_status(home) == "HIT"


def test_a_visitor_who_chose_cookies_never_gets_the_banner_from_the_cache(site):
    url = site["url"]
    for _ in range(2):
        stranger = Browser().get(url, "/cookies")
    assert cache_status(stranger) == "HIT" and BANNER in stranger.text

    decided = Browser()
    assert "cookie_consent=" in decided.choose_cookies(url).headers.get("Set-Cookie", "")
    for _ in range(2):
        page = decided.get(url, "/cookies")
        assert page.status_code == 200
        assert BANNER not in page.text
    assert cache_status(page) == "HIT"
    necessary = Browser()
    necessary.choose_cookies(url, "necessary_only")
    assert BANNER not in necessary.get(url, "/cookies").text
    assert BANNER in Browser().get(url, "/cookies").text


def big_stl(triangles: int) -> bytes:
    """A binary STL of `triangles` small triangles in a row (about 50 bytes each)."""
    facets = b"".join(
        struct.pack("<12fH", 0, 0, 1, i, 0, 0, i + 1, 0, 0, i, 1, 0, 0) for i in range(triangles)
    )
    return b"nginx body-size test".ljust(80, b" ") + struct.pack("<I", triangles) + facets


def test_only_the_upload_route_takes_a_large_body(site):
    url = site["url"]
    visitor = Browser()
    token = visitor.csrf(url, "/login")
    asked = app_requests(site, "POST", "/login")
    flood = visitor.post(
        url,
        "/login",
        data={"csrf_token": token, "email": EMAIL, "password": "x" * (2 * 1024 * 1024)},
    )
    assert flood.status_code == 413
    assert "nginx" in flood.text, "refused by nginx, not by the app"
    assert app_requests(site, "POST", "/login") == asked, "gunicorn never read the body"

    member = Browser()
    assert member.sign_in(url, EMAIL).status_code == 302
    drawing = big_stl(60_000)  # 3 MB: three times the limit everywhere else
    assert len(drawing) > 2 * 1024 * 1024
    token = member.csrf(url, "/quotes/new")
    fields = {"csrf_token": token, "process": "cnc_machining", "material": "al6061"}
    sent = member.post(
        url,
        "/quotes/new",
        data={**fields, "quantity": "1", "notes": ""},
        files={"files": ("long-bar.stl", drawing, "application/octet-stream")},
    )
    assert sent.status_code == 303, sent.text[:500]
    assert sent.headers["Location"].startswith("/quotes/")
