"""Signing in and out: generic refusals, a new session each time, every old cookie dead after
sign-out, `next` only to this site, "remember me" only with consent, re-authentication."""

from __future__ import annotations

import pytest
from auth_support import signed_in
from conftest import PASSWORD

from xometry_site.models import SignInEvent
from xometry_site.models.base import utcnow


@pytest.fixture
def account_url(app) -> str:
    """Where a sign-in without `next` lands (the Personal Center)."""
    from flask import url_for

    with app.test_request_context():
        return url_for("account.index")


GENERIC_EN = "The e-mail address or the password is not correct."
LONG_UA = "Mozilla/5.0 " + "x" * 400


def test_sign_in_records_the_event_and_goes_to_the_account(client, db, user, account_url):
    response = client.post(
        "/login",
        data={"email": " USER1@example.com ", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "198.51.100.4"},
        headers={"User-Agent": LONG_UA},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == account_url
    assert signed_in(client)
    event = db.session.scalar(db.select(SignInEvent))
    assert event.user_id == user.id
    assert event.method == "password"
    assert event.ip_address == "198.51.100.4"
    assert event.user_agent == LONG_UA[:255]
    db.session.refresh(user)
    assert user.last_login_at is not None


def test_login_page_is_never_cached(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    for name in ("email", "password", "remember"):
        assert f'name="{name}"' in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "user1@example.com", "password": "wrong password here"},
        {"email": "nobody@example.com", "password": PASSWORD},
        {"email": "user1@example.com", "password": "x" * 2000},
    ],
    ids=["wrong-password", "unknown-address", "overlong-password"],
)
def test_refusals_are_generic(client, user, credentials):
    response = client.post("/login?lang=en", data=credentials)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert GENERIC_EN in page
    assert "does not exist" not in page and "not registered" not in page
    assert credentials["password"] not in page  # never echoed
    assert 'value="' + credentials["email"] + '"' in page  # the address is kept
    assert not signed_in(client)


def test_refusal_in_chinese(client, user):
    page = client.post("/login", data={"email": "user1@example.com", "password": "nope nope"})
    assert "电子邮箱或密码不正确。" in page.get_data(as_text=True)


@pytest.mark.parametrize("state", ["deregistered_at", "erased_at"])
def test_deregistered_and_erased_accounts_cannot_sign_in(client, make_user, state):
    make_user(email="gone@example.com", **{state: utcnow()})
    response = client.post(
        "/login?lang=en", data={"email": "gone@example.com", "password": PASSWORD}
    )
    assert GENERIC_EN in response.get_data(as_text=True)
    assert not signed_in(client)


def test_unverified_accounts_can_sign_in(client, make_user):
    make_user(email="new@example.com", email_verified_at=None)
    response = client.post("/login", data={"email": "new@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert signed_in(client)


def test_a_new_session_on_sign_in_keeps_nothing_from_before_but_the_language(client, user):
    client.get("/login?lang=en")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    before = client.get_cookie("session").value
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    after = client.get_cookie("session").value
    assert after != before
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == user.get_id()
    assert client.get_cookie("lang").value == "en"  # the language has its own cookie
    assert "Sign out" in client.get("/").get_data(as_text=True)


def test_sign_in_switches_to_the_preferred_language(client, make_user):
    make_user(email="en@example.com", preferred_language="en")
    client.get("/?lang=zh_CN")
    client.post("/login", data={"email": "en@example.com", "password": PASSWORD})
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


def test_logout_ends_this_and_every_copied_session(app, client, user, auth):
    auth.login(user.email)
    stolen = client.get_cookie("session").value
    other_device = app.test_client()
    other_device.post("/login", data={"email": user.email, "password": PASSWORD})
    assert signed_in(other_device)

    response = client.post("/logout")
    assert response.status_code == 302
    assert not signed_in(client)
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    assert not signed_in(replay)  # the copied cookie opens nothing any more
    assert not signed_in(other_device)  # sign-out ends every session


def test_logout_needs_post_and_a_csrf_token(app, client, user, login_as):
    login_as(user)
    assert client.get("/logout").status_code == 405
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/logout").status_code == 400
    assert signed_in(client)


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "\\\\evil.com",
        "/\\evil.com",
        "\t//evil.com",
        "javascript:alert(1)",
        "http:///evil.com",
        "https://evil.com",
        "https://evil.com/account",
        "\n//evil.com",
    ],
)
def test_next_is_refused_unless_same_site(client, user, target, account_url):
    response = client.post(
        "/login", query_string={"next": target}, data={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == account_url


def test_next_on_this_site_is_followed(client, user):
    response = client.post(
        "/login",
        query_string={"next": "/quotes/new?process=cnc"},
        data={"email": user.email, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/quotes/new?process=cnc"


def test_remember_me_needs_functional_cookies(client, user):
    response = client.post(
        "/login?lang=en", data={"email": user.email, "password": PASSWORD, "remember": "y"}
    )
    assert client.get_cookie("remember_token") is None
    assert all("remember_token" not in h for h in response.headers.getlist("Set-Cookie"))
    page = client.get("/?lang=en").get_data(as_text=True)
    assert "accept functional cookies in the" in page
    assert 'href="/cookies"' in page


def test_remember_me_with_consent_survives_the_browser_and_dies_at_sign_out(app, client, user):
    client.set_cookie("cookie_consent", "functional.necessary")
    client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    remember = client.get_cookie("remember_token")
    assert remember is not None
    reopened = app.test_client()  # the browser was closed: only the persistent cookie is left
    reopened.set_cookie("cookie_consent", "functional.necessary")
    reopened.set_cookie("remember_token", remember.value)
    assert signed_in(reopened)

    client.post("/logout")
    assert client.get_cookie("remember_token") is None
    again = app.test_client()
    again.set_cookie("remember_token", remember.value)
    assert not signed_in(again)


# --- re-authentication -------------------------------------------------------------------------


def test_reauthentication_asks_for_the_password_and_returns(client, user, login_as):
    login_as(user, fresh=False)
    page = client.get("/reauthenticate?next=/account/password&lang=en")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    wrong = client.post("/reauthenticate?next=/account/password&lang=en", data={"password": "no"})
    assert "This password is not correct." in wrong.get_data(as_text=True)
    right = client.post("/reauthenticate?next=/account/password", data={"password": PASSWORD})
    assert right.status_code == 302
    assert right.headers["Location"] == "/account/password"
    from xometry_site.security import REAUTH_KEY

    with client.session_transaction() as session:
        assert session.get(REAUTH_KEY)


def test_reauthentication_refuses_foreign_next(client, user, login_as, account_url):
    login_as(user, fresh=False)
    response = client.post("/reauthenticate?next=//evil.com", data={"password": PASSWORD})
    assert response.headers["Location"] == account_url


def test_reauthentication_of_a_wechat_only_account_points_to_wechat(
    client, db, make_user, login_as
):
    from xometry_site.models import WeChatIdentity

    wechat_user = make_user(email=None, password=None, phone_verified_at=utcnow())
    db.session.add(WeChatIdentity(user=wechat_user, appid="wx-site", openid="o-1"))
    db.session.commit()
    login_as(wechat_user, fresh=False)
    page = client.get("/reauthenticate?next=/privacy/deregister&lang=en").get_data(as_text=True)
    assert "Sign in with WeChat again" in page
    assert 'href="/auth/wechat/login?next=%2Fprivacy%2Fderegister"' in page
    assert 'name="password"' not in page


def test_reauthentication_needs_a_signed_in_user(client):
    response = client.get("/reauthenticate")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_staff_command_finds_a_registered_account(app, user, db):
    result = app.test_cli_runner().invoke(args=["users", "make-staff", " USER1@example.com"])
    assert result.exit_code == 0, result.output
    db.session.refresh(user)
    assert user.is_staff


# --- the same work whether or not the account exists (no enumeration by timing) ----------------


@pytest.fixture
def argon2_calls(app, monkeypatch):
    """Counts the argon2 work each request does; the real hashing still runs (a spy, not a mock)."""
    from argon2 import PasswordHasher

    from xometry_site.services.accounts import passwords

    passwords.burn_time("warm up")  # the dummy hash is made once per process, outside the count
    calls: list[str] = []
    for name in ("hash", "verify"):
        real = getattr(PasswordHasher, name)

        def spy(self, *args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(PasswordHasher, name, spy)
    return calls


@pytest.mark.parametrize(
    ("account", "password"),
    [
        ({}, "wrong password here"),
        (None, PASSWORD),  # no such account
        ({"password": None}, PASSWORD),  # a WeChat account without a password
        ({"deregistered_at": utcnow()}, PASSWORD),
        ({}, "x" * 2000),  # too long to be anyone's password
    ],
    ids=["wrong-password", "unknown", "no-password", "deregistered", "overlong"],
)
def test_every_refused_sign_in_costs_one_password_check(
    client, make_user, argon2_calls, account, password
):
    if account is not None:
        make_user(email="someone@example.com", **account)
    argon2_calls.clear()
    client.post("/login", data={"email": "someone@example.com", "password": password})
    assert argon2_calls == ["verify"]
    assert not signed_in(client)


def test_a_reset_for_an_unknown_address_costs_a_password_check(client, argon2_calls):
    client.post("/password/forgot", data={"email": "nobody@example.com"})
    assert argon2_calls == ["verify"]  # instead of rendering and sending a mail


def test_registering_a_known_address_costs_what_a_new_one_does(client, make_user, argon2_calls):
    from auth_support import register

    register(client, email="new@example.com", phone="13700001111")
    new = list(argon2_calls)
    make_user(email="taken@example.com")
    argon2_calls.clear()
    register(client, email="taken@example.com", phone="13700002222")
    assert argon2_calls == new == ["hash"]


def test_a_session_carried_to_another_browser_is_no_longer_fresh(client, user):
    """Flask-Login's session protection ("basic"): the session remembers the browser and address
    it began in, and another one using it only gets a session that is not fresh."""
    browser = {"User-Agent": LONG_UA}
    client.post("/login", data={"email": user.email, "password": PASSWORD}, headers=browser)
    client.get("/", headers=browser)
    with client.session_transaction() as session:
        assert session["_fresh"] is True
    client.get("/", headers={"User-Agent": "Another browser/1.0"})
    with client.session_transaction() as session:
        assert session["_fresh"] is False
