"""E-mail verification: signed, expiring, single-use links; the banner; the guard for quotes."""

from __future__ import annotations

import pytest
from auth_support import (
    REGISTRATION,
    links_in,
    old_token,
    only_message_to,
    path_of,
    register,
    signed_in,
)

from xometry_site.auth.decorators import verified_required
from xometry_site.models import SignInEvent, User
from xometry_site.services.accounts.registration import VERIFY_PURPOSE, verification_token


def _verify_path(mailbox) -> str:
    message = only_message_to(mailbox, REGISTRATION["email"])
    return path_of(next(u for u in links_in(message) if "/verify-email/" in u))


def test_link_verifies_and_signs_in_the_browser_that_registered(client, db, mailbox):
    register(client)
    path = _verify_path(mailbox)
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "您的电子邮箱已验证" in response.get_data(as_text=True)
    user = db.session.scalar(db.select(User))
    assert user.is_verified
    assert signed_in(client)
    assert db.session.scalar(db.select(SignInEvent.method)) == "verify_link"

    again = client.get(path + "?lang=en")  # single use: harmless, says so
    assert again.status_code == 200
    assert "already verified" in again.get_data(as_text=True)


def test_link_opened_elsewhere_verifies_without_signing_in(app, client, db, mailbox):
    register(client)
    elsewhere = app.test_client()  # e.g. a mail scanner, or another person's browser
    response = elsewhere.get(_verify_path(mailbox) + "?lang=en")
    assert "Your e-mail address is verified" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(User)).is_verified
    assert not signed_in(elsewhere)


def test_a_used_link_does_not_sign_in_again(app, client, db, mailbox):
    register(client)
    path = _verify_path(mailbox)
    app.test_client().get(path)  # used elsewhere first
    client.get(path)
    assert not signed_in(client)


def test_expired_link(client, db, make_user):
    user = make_user(email_verified_at=None)
    payload = {"uid": user.id, "email": user.email, "verified": False}
    token = old_token(VERIFY_PURPOSE, payload, age_seconds=48 * 3600 + 60)
    response = client.get(f"/verify-email/{token}?lang=en")
    assert response.status_code == 400
    assert "This link has expired" in response.get_data(as_text=True)
    db.session.refresh(user)
    assert not user.is_verified
    fresh = old_token(VERIFY_PURPOSE, payload, age_seconds=47 * 3600)
    assert client.get(f"/verify-email/{fresh}").status_code == 200


def test_changed_address_invalidates_the_link(client, db, make_user):
    user = make_user(email_verified_at=None)
    token = verification_token(user)
    user.email = "changed@example.com"
    db.session.commit()
    response = client.get(f"/verify-email/{token}?lang=en")
    assert response.status_code == 400
    assert "This link is not valid" in response.get_data(as_text=True)
    db.session.refresh(user)
    assert not user.is_verified


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-5] + ("x" if t[-5] != "x" else "y") + t[-4:],  # a signature character
        lambda t: "garbage",
        lambda t: t + "a",
    ],
)
def test_forged_links_are_refused(client, make_user, mangle):
    user = make_user(email_verified_at=None)
    response = client.get(f"/verify-email/{mangle(verification_token(user))}")
    assert response.status_code == 400


def test_a_token_for_another_purpose_is_refused(client, make_user):
    from xometry_site.services.tokens import make_token

    user = make_user(email_verified_at=None)
    token = make_token("reset-password", {"uid": user.id, "email": user.email, "verified": False})
    assert client.get(f"/verify-email/{token}").status_code == 400


def test_unverified_user_sees_the_banner_and_can_ask_again(client, make_user, login_as, mailbox):
    user = make_user(email="late@example.com", email_verified_at=None)
    login_as(user)
    page = client.get("/?lang=en").get_data(as_text=True)
    assert "Please verify your e-mail address" in page
    assert 'action="/verify-email/resend"' in page
    response = client.post("/verify-email/resend", data={"next": "/cookies"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/cookies"
    message = only_message_to(mailbox, "late@example.com")
    link = path_of(next(u for u in links_in(message) if "/verify-email/" in u))
    assert client.get(link).status_code == 200
    assert "Please verify your e-mail address" not in client.get("/?lang=en").get_data(as_text=True)


def test_verified_user_sees_no_banner_and_gets_no_mail(client, user, login_as, mailbox):
    login_as(user)
    assert 'action="/verify-email/resend"' not in client.get("/").get_data(as_text=True)
    client.post("/verify-email/resend", data={"next": "//evil.com"})
    assert mailbox == []


def test_resend_needs_a_signed_in_user(client, mailbox):
    response = client.post("/verify-email/resend")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert mailbox == []


@pytest.fixture
def guarded(app):
    """A page another feature protects with `verified_required` (as quotes do)."""

    @app.get("/_test/needs-verified")
    @verified_required
    def needs_verified():
        return "quote form"

    return "/_test/needs-verified"


def test_verified_required_explains_and_offers_a_new_link(client, make_user, login_as, guarded):
    login_as(make_user(email_verified_at=None))
    response = client.get(guarded + "?x=1")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/verify-email/pending?next=")
    page = client.get(response.headers["Location"] + "&lang=en").get_data(as_text=True)
    assert "Before you can request quotes" in page
    assert 'action="/verify-email/resend"' in page
    assert 'value="/_test/needs-verified?x=1"' in page


def test_verified_required_lets_verified_users_through(client, user, login_as, guarded):
    login_as(user)
    assert client.get(guarded).get_data(as_text=True) == "quote form"
    pending = client.get("/verify-email/pending?next=/quotes/new")
    assert pending.headers["Location"] == "/quotes/new"


def test_verified_required_sends_visitors_to_sign_in(client, guarded):
    response = client.get(guarded)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_an_unverified_account_cannot_request_a_quote(client, make_user, login_as):
    """The real quote form, not only a test page, is behind `verified_required`."""
    login_as(make_user(email_verified_at=None))
    for response in (client.get("/quotes/new"), client.post("/quotes/new", data={})):
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/verify-email/pending?next=/quotes/new")
