"""`next=` only ever leads to a same-site path, on every consumer [A5 3.7.2].

Browsers read `//x`, `\\x`, `/\\x` and `\t//x` as another host, and `javascript:` runs script; each
consumer (sign-in, re-authentication, verification page and resend, cookie banner, the WeChat
flow) is tried with each, and every route of the site is walked with `?next=` to catch new ones.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from conftest import PASSWORD, sign_in
from records_support import make_records, rule_path

EVIL = [
    "//x",
    "\\\\x",
    "/\\x",
    "\t//x",
    "javascript:alert(1)",
    "http:///x",
    "https://evil.example/",
    "/%2F/x",
]
SWEEP = ["//x", "/\\x", "javascript:alert(1)", "https://evil.example/"]


def assert_same_site(location: str | None) -> None:
    """A Location a browser resolves to this site: a path, never a scheme or another host."""
    assert location, "a redirect was expected"
    assert "\\" not in location and not any(ord(c) < 32 for c in location), location
    parts = urlsplit(location)
    assert parts.scheme in ("", "http", "https") and parts.netloc in ("", "localhost"), location
    assert parts.path.startswith("/") and not parts.path.startswith("//"), location


@pytest.mark.parametrize("target", EVIL)
def test_sign_in_with_a_foreign_next_lands_on_the_site(app, client, user, target):
    response = client.post(
        "/login", query_string={"next": target}, data={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert_same_site(response.headers["Location"])


def test_sign_in_honours_a_same_site_next(app, client, user):
    response = client.post(
        "/login",
        query_string={"next": "/quotes/?x=1"},
        data={"email": user.email, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/quotes/?x=1"


@pytest.mark.parametrize("target", EVIL)
def test_signed_in_visit_to_login_ignores_a_foreign_next(client, user, target):
    sign_in(client, user)
    response = client.get("/login", query_string={"next": target})
    assert response.status_code == 302
    assert_same_site(response.headers["Location"])


@pytest.mark.parametrize("target", EVIL)
def test_reauthentication_ignores_a_foreign_next(client, user, target):
    sign_in(client, user, fresh=False)
    response = client.post(
        "/reauthenticate", query_string={"next": target}, data={"password": PASSWORD}
    )
    assert response.status_code == 302
    assert_same_site(response.headers["Location"])


@pytest.mark.parametrize("target", EVIL)
def test_verification_pages_ignore_a_foreign_next(client, make_user, target):
    verified = make_user()
    sign_in(client, verified)
    page = client.get("/verify-email/pending", query_string={"next": target})
    assert page.status_code == 302
    assert_same_site(page.headers["Location"])
    resent = client.post("/verify-email/resend", data={"next": target})
    assert resent.status_code == 302
    assert_same_site(resent.headers["Location"])


@pytest.mark.parametrize("target", EVIL)
def test_cookie_banner_ignores_a_foreign_next(client, target):
    response = client.post("/cookies", data={"accept_all": "1", "next": target})
    assert response.status_code == 302
    assert_same_site(response.headers["Location"])


@pytest.mark.parametrize("target", EVIL)
@pytest.mark.parametrize("purpose", ["login", "bind", "reauth"])
def test_wechat_flow_destination_refuses_a_foreign_next(app, target, purpose):
    from xometry_site.auth.wechat_session import destination

    with app.test_request_context("/auth/wechat/callback"):
        assert_same_site(destination(target, purpose))
        assert destination("/quotes/", purpose) == "/quotes/"


def test_no_route_follows_a_foreign_next(app, make_user):
    """Every GET route, anonymous and signed in: no redirect leaves the site, except to WeChat's
    configured sign-in host (which never carries `next`)."""
    wechat = urlsplit(app.config["WECHAT_OPEN_BASE_URL"]).netloc
    owner = make_user()
    values = make_records(app, owner)
    anonymous, signed_in = app.test_client(), app.test_client()
    sign_in(signed_in, owner)
    escaped = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        path = rule_path(rule, values)
        for client in (anonymous, signed_in):
            for target in SWEEP:
                response = client.get(path, query_string={"next": target})
                location = response.headers.get("Location")
                response.close()
                if location is None or urlsplit(location).netloc == wechat:
                    continue
                try:
                    assert_same_site(location)
                except AssertionError:
                    escaped.append(f"{rule.rule}?next={target!r} → {location}")
    assert escaped == []
