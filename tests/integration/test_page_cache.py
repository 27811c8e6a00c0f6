"""Public pages come from memory for anonymous visitors: same page, each visitor's own token.

The cache must never show one visitor what belongs to another: the banner's CSRF token is the
visitor's own and works, signed-in visitors and pages with a message are rendered for them alone,
and each language and cookie choice has its own copy.
"""

from __future__ import annotations

import re

import pytest
from conftest import sign_in
from flask import template_rendered

from xometry_site.csrf_token import PLACEHOLDER as CSRF_PLACEHOLDER

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


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


def without_token(response) -> str:
    return TOKEN.sub("", response.get_data(as_text=True))


def token_of(page: str) -> str:
    match = TOKEN.search(page)
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.mark.parametrize("path", ["/", "/policy", "/policy/2024-07-01", "/policy/compare"])
def test_second_anonymous_visit_is_served_without_rendering(app, renders, path):
    first = app.test_client().get(path)
    assert first.status_code == 200 and renders
    renders.clear()
    second = app.test_client().get(path)
    assert second.status_code == 200
    assert renders == []  # from memory
    assert without_token(second) == without_token(first)


def test_each_visitor_gets_a_token_of_their_own_that_works(csrf_app):
    alice, bob = csrf_app.test_client(), csrf_app.test_client()
    alice_page = alice.get("/").get_data(as_text=True)
    bob_page = bob.get("/").get_data(as_text=True)
    assert CSRF_PLACEHOLDER not in alice_page + bob_page
    alice_token, bob_token = token_of(alice_page), token_of(bob_page)
    assert alice_token != bob_token
    # Bob's token is worth nothing in Alice's session: the token is still bound to the session
    refused = alice.post("/cookies", data={"csrf_token": bob_token, "accept_all": "1", "next": "/"})
    assert refused.status_code == 400
    assert alice.get_cookie("cookie_consent") is None
    saved = alice.post(
        "/cookies", data={"csrf_token": alice_token, "necessary_only": "1", "next": "/"}
    )
    assert saved.status_code == 302 and alice.get_cookie("cookie_consent").value == "necessary"


def test_the_message_after_a_choice_is_shown_not_a_cached_page(csrf_app):
    visitor, chosen_before = csrf_app.test_client(), csrf_app.test_client()
    chosen_before.set_cookie("cookie_consent", "necessary")
    chosen_before.get("/?lang=en")  # the copy for visitors who have chosen is cached first
    token = token_of(visitor.get("/?lang=en").get_data(as_text=True))
    visitor.post("/cookies", data={"csrf_token": token, "necessary_only": "1", "next": "/?lang=en"})
    page = visitor.get("/?lang=en").get_data(as_text=True)
    assert "Your cookie choice has been saved." in page
    assert 'id="cookie-banner"' not in page  # the copy for visitors who have chosen


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


def test_signed_in_visitors_never_see_the_anonymous_copy_nor_leave_theirs(app, make_user, renders):
    app.test_client().get("/")  # the anonymous copy is cached
    member = make_user(name="缓存测试用户")
    client = app.test_client()
    sign_in(client, member)
    renders.clear()
    page = client.get("/").get_data(as_text=True)
    assert renders  # rendered for them
    assert "退出登录" in page and ">登录</a>" not in page
    anonymous = app.test_client().get("/").get_data(as_text=True)
    assert "退出登录" not in anonymous and ">登录</a>" in anonymous


def test_the_rate_limiter_skips_cached_pages_and_still_guards_the_rest(client, monkeypatch):
    from flask_limiter import Limiter

    checked: list[str] = []
    original = Limiter._check_request_limit

    def counting(self, *args, **kwargs):
        from flask import request

        checked.append(request.path)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Limiter, "_check_request_limit", counting)
    for path in ("/", "/policy", "/policy/compare"):
        assert client.get(path).status_code == 200
    assert checked == []
    assert client.get("/login").status_code == 200
    assert checked == ["/login"]


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True}])
def test_the_rate_limiters_after_request_work_skips_cached_pages_too(client, monkeypatch):
    from flask import request
    from flask_limiter import Limiter

    looked: list[str] = []
    context = Limiter.context.fget

    def watched(self):
        looked.append(request.path)
        return context(self)

    monkeypatch.setattr(Limiter, "context", property(watched))
    for path in ("/", "/policy"):
        assert client.get(path).status_code == 200
    assert looked == []
    assert client.get("/login").status_code == 200
    assert "/login" in looked


def test_the_page_is_kept_as_it_is_and_nothing_else_is_kept(app, client):
    from xometry_site.extensions import cache
    from xometry_site.pages.cache import PageMemory, _cacheable

    first = client.get("/policy").get_data()
    backend = cache.cache
    assert isinstance(backend, PageMemory)
    kept = [backend.get(key) for key in list(backend._cache)]
    assert kept and all(isinstance(p, tuple) and all(isinstance(b, bytes) for b in p) for p in kept)
    assert backend.get(next(iter(backend._cache))) is kept[0]  # not a copy (nothing to unpickle)
    assert client.get("/policy").get_data() == first  # same page from memory, same session
    assert not _cacheable(["a", "list"]) and not _cacheable(("text", "pieces"))
