"""The layout's shared parts (navigation, footer, cookie notice) served from the fragment memo."""

from __future__ import annotations

import re

import pytest
from conftest import sign_in

from xometry_site.csrf_token import PLACEHOLDER
from xometry_site.fragments import EXTENSION

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True  # as in production
    return app


def _page(client, path: str = "/account", **headers) -> str:
    answer = client.get(path, headers=headers)
    assert answer.status_code == 200, (path, answer.status_code)
    return answer.get_data(as_text=True)


def test_pages_from_the_memo_equal_pages_rendered_afresh(app, make_user):
    member, staff = make_user(), make_user(is_staff=True)
    visitors = []
    for person in (member, staff, None):
        client = app.test_client()
        if person:
            sign_in(client, person)
        visitors.append(client)
    pages = [("/account", {}), ("/account", {"Accept-Language": "en"}), ("/policy?x=1", {})]
    memo = app.extensions[EXTENSION]
    for client in visitors:
        for path, headers in pages:
            if client is visitors[2] and path == "/account":
                continue  # anonymous visitors are sent to sign in
            memo.clear()
            fresh = TOKEN.sub("", _page(client, path, **headers))
            assert memo, "the layout's parts were kept"
            again = TOKEN.sub("", _page(client, path, **headers))
            assert again == fresh
    # each kind of visitor has parts of their own; the memo never mixes them
    staff_page, member_page = _page(visitors[1]), _page(visitors[0])
    assert 'href="/admin/"' in staff_page or 'href="/admin"' in staff_page
    assert "/admin" not in member_page
    anonymous = _page(visitors[2], "/policy")
    assert 'action="/logout"' not in anonymous and 'href="/login"' in anonymous
    assert 'action="/logout"' in member_page and 'href="/login"' not in member_page
    english = _page(visitors[0], "/account", **{"Accept-Language": "en"})
    assert "Sign out" in english and "Data Protection Policy" in english


def test_each_session_gets_its_own_working_sign_out_token(csrf_app, make_user):
    alice, bob = csrf_app.test_client(), csrf_app.test_client()
    sign_in(alice, make_user())
    sign_in(bob, make_user())
    alice_page, bob_page = _page(alice), _page(bob)
    assert PLACEHOLDER not in alice_page + bob_page
    alice_token, bob_token = TOKEN.search(alice_page)[1], TOKEN.search(bob_page)[1]
    assert alice_token != bob_token
    assert alice.post("/logout", data={"csrf_token": bob_token}).status_code == 400
    assert alice.get("/account").status_code == 200  # still signed in
    signed_out = alice.post("/logout", data={"csrf_token": alice_token})
    assert signed_out.status_code == 302
    assert alice.get("/account").status_code == 302  # sent to sign in


def test_the_cookie_notice_comes_back_to_the_page_it_was_on(csrf_app):
    visitor = csrf_app.test_client()
    page = _page(visitor, "/policy?lang=en")
    assert 'id="cookie-banner"' in page
    assert 'name="next" form="cookie-choice" value="/policy?lang=en"' in page
    other = _page(csrf_app.test_client(), "/cookies")
    assert 'name="next" form="cookie-choice" value="/cookies"' in other
