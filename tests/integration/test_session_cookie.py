"""The session cookie: signed as Flask signs it, read whether or not an older release compressed it."""

from __future__ import annotations

from flask.sessions import SecureCookieSessionInterface


def test_a_cookie_compressed_by_flasks_own_serializer_still_signs_the_user_in(app, client, user):
    from xometry_site.security import REAUTH_KEY

    data = {"_user_id": user.get_id(), "_fresh": True, REAUTH_KEY: 0, "padding": "x" * 400}
    flask_default = SecureCookieSessionInterface().get_signing_serializer(app)
    cookie = flask_default.dumps(data)
    assert cookie.startswith(".")  # zlib-compressed, as Flask's default writes a long session
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    page = client.get("/account")
    assert page.status_code == 200 and user.email in page.get_data(as_text=True)


def test_a_large_session_is_compressed_to_stay_under_the_browsers_limit(app, client, user):
    from conftest import sign_in

    sign_in(client, user)
    with client.session_transaction() as session:
        session["_flashes"] = [("info", f"消息 {n}：请稍后再试。" * 3) for n in range(60)]
    name = app.config["SESSION_COOKIE_NAME"]
    value = client.get_cookie(name).value
    assert value.startswith(".") and len(value) < 4000  # itsdangerous's mark for zlib
    page = client.get("/account").get_data(as_text=True)
    assert "消息 59" in page  # read back and shown


def test_a_tampered_cookie_is_an_empty_session(app, client, user):
    from conftest import sign_in

    sign_in(client, user)
    assert client.get("/account").status_code == 200
    name = app.config["SESSION_COOKIE_NAME"]
    value = client.get_cookie(name).value
    client.set_cookie(name, value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1])
    assert client.get("/account").status_code == 302  # to the sign-in page


def test_a_new_secret_key_keeps_sessions_signed_with_the_fallback(app, client, user):
    from conftest import sign_in

    sign_in(client, user)
    assert client.get("/account").status_code == 200
    old = app.secret_key
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    app.secret_key = app.config["SECRET_KEY"] = old + "-rotated"
    assert client.get("/account").status_code == 200  # read with the fallback key
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert client.get("/account").status_code == 302  # the old key is gone
