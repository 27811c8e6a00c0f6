"""The cookie notice: a banner until a choice is made, one registry, nothing set without consent."""

from __future__ import annotations

from xometry_site.services import cookies

REMEMBER = "remember_token"


def set_cookie_names(response) -> list[str]:
    return [h.split("=", 1)[0] for h in response.headers.getlist("Set-Cookie")]


def test_first_visit_shows_banner_in_chinese_with_both_choices(client):
    page = client.get("/").get_data(as_text=True)
    assert 'id="cookie-banner"' in page
    assert "全部接受" in page and "仅必要 Cookie" in page
    assert 'href="/cookies"' in page


def test_banner_in_english(client):
    page = client.get("/?lang=en").get_data(as_text=True)
    assert "Accept all" in page and "Necessary only" in page


def test_necessary_only_is_remembered_and_banner_disappears(client):
    response = client.post("/cookies", data={"necessary_only": "1", "next": "/policy"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/policy"
    assert client.get_cookie("cookie_consent").value == "necessary"
    page = client.get("/").get_data(as_text=True)
    assert 'id="cookie-banner"' not in page
    assert "仅必要" in client.get("/cookies").get_data(as_text=True)


def test_banner_next_cannot_leave_the_site(client):
    response = client.post("/cookies", data={"accept_all": "1", "next": "//evil.example"})
    assert response.headers["Location"] == "/cookies"


def test_accept_all_then_refuse_clears_the_refused_cookies(client):
    client.post("/cookies", data={"accept_all": "1"})
    assert client.get_cookie("cookie_consent").value == "functional.necessary"
    client.set_cookie(REMEMBER, "something")
    response = client.post("/cookies", data={"submit": "1"})  # box unticked = refuse
    deleted = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{REMEMBER}=")]
    assert deleted and ("Max-Age=0" in deleted[0] or "1970" in deleted[0])
    assert client.get_cookie(REMEMBER) is None
    assert client.get_cookie("cookie_consent").value == "necessary"


def test_choice_can_be_changed_on_the_cookies_page(client):
    client.post("/cookies", data={"necessary_only": "1"})
    client.post("/cookies", data={"functional": "y", "submit": "1"})
    assert client.get_cookie("cookie_consent").value == "functional.necessary"
    page = client.get("/cookies?lang=en").get_data(as_text=True)
    assert "all cookies accepted" in page


def test_cookies_page_lists_every_registered_cookie(client):
    page = client.get("/cookies?lang=en").get_data(as_text=True)
    for spec in cookies.REGISTRY:
        assert f"<code>{spec.name}</code>" in page
    assert "Strictly necessary" in page and "Functional" in page


def test_non_necessary_cookie_is_dropped_without_consent(app):
    @app.get("/_set_remember")
    def set_remember():
        from flask import make_response

        response = make_response("ok")
        response.set_cookie(REMEMBER, "x")
        return response

    client = app.test_client()
    assert REMEMBER not in set_cookie_names(client.get("/_set_remember"))
    client.post("/cookies", data={"accept_all": "1"})
    assert REMEMBER in set_cookie_names(client.get("/_set_remember"))


def test_unregistered_cookie_is_refused(app):
    @app.get("/_set_tracker")
    def set_tracker():
        from flask import make_response

        response = make_response("ok")
        response.set_cookie("tracker", "x")
        return response

    import pytest

    with pytest.raises(RuntimeError, match="tracker"):
        app.test_client().get("/_set_tracker")


def test_crawl_sets_only_registered_necessary_cookies_before_consent(client):
    """Every page a visitor can reach before choosing sets only necessary, registered cookies."""
    necessary = {s.name for s in cookies.REGISTRY if s.category == cookies.NECESSARY}
    registered = cookies.registered_names()
    seen = set()
    for path in (
        "/",
        "/?lang=en",
        "/policy",
        "/cookies",
        "/login",
        "/register",
        "/password/forgot",
        "/quotes",
        "/quotes/new",
        "/account",
        "/privacy",
        "/healthz",
        "/no-such-page",
    ):
        names = set(set_cookie_names(client.get(path)))
        assert names <= registered, f"{path} sets unregistered {names - registered}"
        seen |= names
    assert seen <= necessary
