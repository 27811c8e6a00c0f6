"""Public pages are plain HTTP: no session, cacheable by anyone, the same bytes for every visitor.

An anonymous visitor's home, policy and cookie pages set no cookie at all, say `public` with an
ETag (304 when the browser has the page already) and are served from memory after the first
visit; a signed-in visitor's pages are theirs alone. The cookie banner posts without a session,
and a post from another site is refused.
"""

from __future__ import annotations

import pytest
from conftest import sign_in
from flask import template_rendered
from flask.testing import FlaskClient

PUBLIC = ["/", "/policy", "/policy/2024", "/policy/2022", "/policy/compare", "/cookies"]


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True  # as in production
    return app


@pytest.fixture
def renders(app):
    """Names of the templates rendered while the test runs."""
    names: list[str] = []

    def record(sender, template, context, **extra):
        names.append(template.name)

    template_rendered.connect(record, app)
    yield names
    template_rendered.disconnect(record, app)


@pytest.mark.parametrize("path", [*PUBLIC, "/policy/compare?a=2022&b=2024"])
def test_an_anonymous_visit_sets_no_cookie_and_may_be_kept_by_any_cache(csrf_app, path):
    response = csrf_app.test_client().get(path)
    assert response.status_code == 200
    assert response.headers.getlist("Set-Cookie") == []
    assert response.cache_control.public and response.cache_control.max_age == 300
    assert response.get_etag()[0]
    assert {"Accept-Language", "Cookie"} <= set(response.vary)


@pytest.mark.parametrize("path", PUBLIC)
def test_a_browser_that_has_the_page_gets_304_without_the_page(app, path):
    client = app.test_client()
    first = client.get(path)
    etag = first.headers["ETag"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag and again.headers.getlist("Set-Cookie") == []
    other = client.get(path, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.get_data() == first.get_data()


@pytest.mark.parametrize("path", ["/", "/policy", "/policy/2024", "/policy/compare"])
def test_second_anonymous_visit_is_served_without_rendering(app, renders, path):
    first = app.test_client().get(path)
    assert first.status_code == 200 and renders
    first.get_data()  # read whole, as a browser does: only then is it kept
    renders.clear()
    second = app.test_client().get(path)
    assert second.status_code == 200
    assert renders == []  # from memory
    assert second.get_data() == first.get_data()


def test_languages_and_cookie_choices_have_their_own_copies(app):
    assert "全部接受" in app.test_client().get("/").get_data(as_text=True)
    english = app.test_client().get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Accept all" in english.get_data(as_text=True)
    assert "全部接受" in app.test_client().get("/").get_data(as_text=True)
    chosen = app.test_client()
    chosen.set_cookie("cookie_consent", "necessary")
    page = chosen.get("/").get_data(as_text=True)
    assert 'id="cookie-banner"' not in page and "全部接受" not in page
    assert 'id="cookie-banner"' in app.test_client().get("/").get_data(as_text=True)


def test_a_chosen_language_is_one_cookie_of_its_own_and_then_pages_are_public_again(app):
    visitor = app.test_client()
    chosen = visitor.get("/policy?lang=en")
    assert "Data Protection Policy" in chosen.get_data(as_text=True)
    assert [h.split("=")[0] for h in chosen.headers.getlist("Set-Cookie")] == ["lang"]
    assert not chosen.cache_control.public  # a response that sets a cookie is the visitor's own
    later = visitor.get("/")  # no ?lang=: the cookie speaks
    assert 'lang="en"' in later.get_data(as_text=True)
    assert later.headers.getlist("Set-Cookie") == [] and later.cache_control.public
    back = visitor.get("/?lang=zh_CN")
    assert 'lang="zh-CN"' in back.get_data(as_text=True)
    assert visitor.get_cookie("lang").value == "zh_CN"


def test_signed_in_visitors_get_a_private_page_of_their_own(app, make_user, renders):
    app.test_client().get("/")  # the anonymous copy is kept
    member = make_user(name="缓存测试用户")
    client = app.test_client()
    sign_in(client, member)
    renders.clear()
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert renders  # rendered for them
    assert "退出登录" in page and ">登录</a>" not in page
    assert response.cache_control.private and not response.cache_control.public
    anonymous = app.test_client().get("/").get_data(as_text=True)
    assert "退出登录" not in anonymous and ">登录</a>" in anonymous


def test_the_banner_works_without_a_session_or_token(csrf_app):
    visitor = csrf_app.test_client()
    page = visitor.get("/policy").get_data(as_text=True)
    assert 'id="cookie-banner"' in page and 'name="csrf_token"' not in page
    saved = visitor.post(
        "/cookies",
        data={"necessary_only": "1", "next": "/policy"},
        headers={"Origin": "http://localhost"},
    )
    assert saved.status_code == 302 and saved.headers["Location"] == "/policy"
    assert [h.split("=")[0] for h in saved.headers.getlist("Set-Cookie")] == ["cookie_consent"]
    after = visitor.get("/policy")
    assert 'id="cookie-banner"' not in after.get_data(as_text=True)
    assert after.headers.getlist("Set-Cookie") == [] and after.cache_control.public


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain is another origin
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
        {},  # says nothing of where it comes from
    ],
)
def test_a_cookie_choice_posted_from_elsewhere_is_refused(app, headers):
    bare = FlaskClient(app, app.response_class)  # no browser defaults
    refused = bare.post("/cookies", data={"accept_all": "1", "next": "/"}, headers=headers)
    assert refused.status_code == 403
    assert refused.headers.getlist("Set-Cookie") == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "same-origin"},
        {"Origin": "http://localhost"},
        {"Referer": "http://localhost/policy"},
    ],
)
def test_a_cookie_choice_from_our_own_page_is_taken(app, headers):
    bare = FlaskClient(app, app.response_class)
    taken = bare.post("/cookies", data={"accept_all": "1", "next": "/"}, headers=headers)
    assert taken.status_code == 302
    assert bare.get_cookie("cookie_consent").value == "functional.necessary"


def test_a_signed_in_visitor_is_told_their_choice_was_saved(app, make_user):
    client = app.test_client()
    sign_in(client, make_user())
    client.post("/cookies?lang=en", data={"necessary_only": "1", "next": "/?lang=en"})
    assert "Your cookie choice has been saved." in client.get("/?lang=en").get_data(as_text=True)


def test_errors_redirects_and_chosen_languages_are_never_kept(app, renders):
    for path in ("/policy/no-such-edition", "/?lang=en"):
        first = app.test_client().get(path)
        assert not first.cache_control.public
        renders.clear()
        app.test_client().get(path)
        assert renders, path  # rendered again: nothing was kept


def test_the_workers_copy_is_off_when_configured(app, renders):
    from xometry_site import create_app

    config = {**app.config, "HTTP_CACHE_ENTRIES": 0}
    uncached = create_app(config)

    def record(*_args, **_kwargs):
        renders.append("rendered")

    template_rendered.connect(record, uncached)
    for _ in range(2):
        renders.clear()
        page = uncached.test_client().get("/policy")
        assert page.cache_control.public and page.get_data()
        assert renders
    template_rendered.disconnect(record, uncached)
