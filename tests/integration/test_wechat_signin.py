"""WeChat sign-in over real HTTP to the simulator: first sign-in, return visits, every failure."""

from __future__ import annotations

import logging
import socket
from urllib.parse import parse_qs, urlsplit

import pytest
from wechat_support import *  # noqa: F403 - the fixtures app_config, sim, sim_server
from wechat_support import (
    MP_APPID,
    MP_SECRET,
    PHONE,
    WECHAT_UA,
    callback_url,
    path_of,
    query,
    register,
    scan,
    start,
)

from xometry_site.devtools.wechat_simulator import DEFAULT_APPID
from xometry_site.models import Consent, SignInEvent, User, WeChatIdentity
from xometry_site.security import REAUTH_KEY

pytestmark = pytest.mark.slow


def signed_in_user_id(client) -> str | None:
    with client.session_transaction() as session:
        return session.get("_user_id")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the link to WeChat ---------------------------------------------------------------------


def test_login_redirects_to_the_qr_page_with_a_state_bound_to_the_session(client, sim):
    location = start(client, next="/quotes")
    params = query(location)
    assert location.startswith(sim.base_url + "/connect/qrconnect?")
    assert params["appid"] == DEFAULT_APPID and params["scope"] == "snsapi_login"
    assert len(params["state"]) >= 32
    with client.session_transaction() as session:
        assert session["wechat_flow"]["state"] == params["state"]
    # a second click makes a new state: states are never reused
    assert query(start(client))["state"] != params["state"]


def test_redirect_uri_comes_from_configuration_not_the_host_header(app, client, sim):
    location = start(client, headers={"Host": "evil.example"})
    assert query(location)["redirect_uri"] == "http://localhost/auth/wechat/callback"
    app.config["WECHAT_REDIRECT_URI"] = "https://www.xometry.asia/auth/wechat/callback"
    location = start(client, headers={"Host": "evil.example"})
    assert query(location)["redirect_uri"] == "https://www.xometry.asia/auth/wechat/callback"


# --- first sign-in and the next ones --------------------------------------------------------


def test_first_sign_in_registers_with_a_verified_phone_and_consents(app, client, db, sim):
    answer = scan(client, "zhangwei", next="/quotes")
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/auth/wechat/complete")
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0  # nothing stored yet
    page = client.get("/auth/wechat/complete").get_data(as_text=True)
    assert 'name="phone"' in page and 'name="accept_policy"' in page
    assert 'name="subscribe" type="checkbox" value="y">' in page  # offered, unticked

    from wechat_support import complete, last_code, send_code

    assert send_code(client).status_code == 302
    done = complete(client, last_code(app))
    assert done.status_code == 302 and done.headers["Location"] == "/quotes"

    user = db.session.scalars(db.select(User)).one()
    assert user.phone == PHONE and user.phone_verified_at is not None
    assert user.email is None and user.name is None and user.password_hash is None
    identity = db.session.scalars(db.select(WeChatIdentity)).one()
    assert (identity.user_id, identity.appid) == (user.id, DEFAULT_APPID)
    assert identity.openid == sim.state.openid_for("zhangwei", DEFAULT_APPID)
    assert identity.unionid == sim.state.unionid_for("zhangwei")
    consents = {
        c.kind: c for c in db.session.scalars(db.select(Consent).filter_by(user_id=user.id))
    }
    assert set(consents) == {"policy", "adult"}
    for consent in consents.values():
        assert consent.policy_edition and consent.ip_address == "127.0.0.1"
        assert consent.source == "wechat" and consent.confirmed_at is not None
    event = db.session.scalars(db.select(SignInEvent)).one()
    assert (event.user_id, event.method) == (user.id, "wechat")
    assert signed_in_user_id(client) == user.get_id()
    with client.session_transaction() as session:
        assert session.get(REAUTH_KEY)  # a fresh WeChat sign-in counts as re-authentication
        assert "wechat_pending" not in session and "wechat_flow" not in session


def test_second_sign_in_finds_the_account_and_renews_the_session(app, client, db, sim):
    register(client, app, "lina")
    user = db.session.scalars(db.select(User)).one()
    client.post("/logout")
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    answer = scan(client, "lina", next="/account/profile")
    assert answer.status_code == 302 and answer.headers["Location"] == "/account/profile"
    assert db.session.scalar(db.select(db.func.count(User.id))) == 1
    assert signed_in_user_id(client) == user.get_id()
    with client.session_transaction() as session:
        assert "planted" not in session  # nothing from before the sign-in survives
        assert session.get(REAUTH_KEY)
    methods = db.session.scalars(db.select(SignInEvent.method)).all()
    assert methods == ["wechat", "wechat"]


def test_signing_in_inside_wechat_finds_the_same_account_by_unionid(app, client, db, sim):
    register(client, app, "wangfang")
    client.post("/logout")
    app.config.update(WECHAT_MP_APP_ID=MP_APPID, WECHAT_MP_APP_SECRET=MP_SECRET)
    location = start(client, headers={"User-Agent": WECHAT_UA})
    assert location.startswith(sim.base_url + "/connect/oauth2/authorize?")
    assert query(location)["appid"] == MP_APPID and query(location)["scope"] == "snsapi_base"
    answer = client.get(path_of(callback_url(location, "wangfang")))
    assert answer.status_code == 302
    assert signed_in_user_id(client) is not None
    rows = db.session.scalars(db.select(WeChatIdentity).order_by(WeChatIdentity.id)).all()
    assert [row.appid for row in rows] == [DEFAULT_APPID, MP_APPID]  # one OpenID per app
    assert len({row.user_id for row in rows}) == 1


def test_without_unionid_the_account_is_found_by_app_and_openid(app, client, db, sim):
    sim.state.with_unionid = False
    register(client, app, "tricky")
    client.post("/logout")
    assert scan(client, "tricky").status_code == 302
    assert signed_in_user_id(client) is not None
    identity = db.session.scalars(db.select(WeChatIdentity)).one()
    assert identity.unionid is None


def test_no_nickname_or_other_profile_data_is_stored_anywhere(app, client, db, sim):
    """The policy lists a phone number and the OpenID: /sns/userinfo is never even called."""
    from wechat_support import complete, last_code, send_code

    from xometry_site.devtools.wechat_sim_client import click

    nickname = "昵称不该被保存Nick"
    location = click(start(client), action="new", nickname=nickname)
    client.get(path_of(location))
    send_code(client)
    complete(client, last_code(app))
    register(client.application.test_client(), app, "tricky", phone="+8613700001111")
    assert db.session.scalar(db.select(db.func.count(User.id))) == 2
    dump = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                dump.append(repr(tuple(row)))
    everything = "\n".join(dump)
    for value in (nickname, "Nick", "张伟", "工程师", "Eng", "Shenzhen", "avatar", "headimg"):
        assert value not in everything
    assert [call["endpoint"] for call in sim.state.calls] == ["access_token", "access_token"]


def test_a_deregistered_account_cannot_sign_in_with_wechat(app, client, db, sim):
    register(client, app, "lina")
    client.post("/logout")
    user = db.session.scalars(db.select(User)).one()
    user.deregistered_at = user.created_at
    db.session.commit()
    answer = scan(client, "lina")
    assert answer.status_code == 403
    assert "注销" in answer.get_data(as_text=True) or "closed" in answer.get_data(as_text=True)
    assert signed_in_user_id(client) is None


def test_wechat_during_the_cooling_off_offers_to_keep_the_account(app, client, db, sim):
    """WeChat proves who it is: the page says the account is closing and keeps it on request."""
    from xometry_site.services.privacy import erasure

    register(client, app, "lina")
    client.post("/logout")
    erasure.deregister(db.session.scalars(db.select(User)).one())
    answer = scan(client, "lina", next="/quotes")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert "您的账户正在注销中" in page and 'action="/login/keep"' in page
    assert signed_in_user_id(client) is None
    kept = client.post("/login/keep")
    assert kept.status_code == 302 and kept.headers["Location"] == "/quotes"
    db.session.expire_all()
    user = db.session.scalars(db.select(User)).one()
    assert user.deregistered_at is None and signed_in_user_id(client) == user.get_id()


# --- state ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "words"), [("zh_CN", "重新"), ("en", "start the WeChat sign-in again")]
)
def test_a_state_that_does_not_match_is_a_friendly_400_in_the_visitors_language(
    client, db, sim, lang, words
):
    client.get(f"/?lang={lang}")
    location = callback_url(start(client))
    forged = path_of(location).replace("state=", "state=x")
    answer = client.get(forged)
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert words in page
    assert 'href="/auth/wechat/login' in page and 'href="/login' in page
    assert sim.state.calls == []  # the code was not even tried
    # the real state is gone too: checked once, discarded
    assert client.get(path_of(location)).status_code == 400


def test_a_missing_state_is_a_friendly_400(client, sim):
    location = callback_url(start(client))
    code = query(location)["code"]
    answer = client.get(f"/auth/wechat/callback?code={code}")
    assert answer.status_code == 400
    assert "微信" in answer.get_data(as_text=True)
    assert client.get("/auth/wechat/callback").status_code == 400


def test_a_callback_from_another_browser_has_no_state_here(app, client, sim):
    location = callback_url(start(client))
    stranger = app.test_client()  # e.g. the link pasted into another browser
    assert stranger.get(path_of(location)).status_code == 400
    assert sim.state.calls == []


def test_refusing_in_wechat_shows_a_way_back(client, db, sim):
    answer = scan(client, action="refuse")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert "取消" in page and 'href="/auth/wechat/login' in page
    assert sim.state.calls == []


# --- codes: replayed, duplicated, expired ---------------------------------------------------


def test_a_duplicate_callback_after_success_just_continues(app, client, db, sim):
    register(client, app, "lina")
    client.post("/logout")
    location = callback_url(start(client, next="/quotes"), "lina")
    first = client.get(path_of(location))
    assert first.headers["Location"] == "/quotes"
    again = client.get(path_of(location))  # a double-click with the new cookie
    assert again.status_code == 302 and again.headers["Location"] == "/quotes"
    assert signed_in_user_id(client) is not None
    assert len(sim.state.calls) == 2  # registration + this sign-in: the code was sent once


def test_a_racing_duplicate_with_the_old_cookie_does_not_undo_the_sign_in(app, client, db, sim):
    register(client, app, "lina")
    client.post("/logout")
    client.get("/login")  # a page with forms: the session holds a CSRF token
    location = callback_url(start(client, next="/quotes"), "lina")
    old_cookie = client.get_cookie("session").value
    assert client.get(path_of(location)).status_code == 302
    # the second click's request left with the old cookie, before the first answer arrived
    racer = app.test_client()
    racer.set_cookie("session", old_cookie)
    answer = racer.get(path_of(location))
    assert answer.status_code == 302 and "/auth/wechat/used" in answer.headers["Location"]
    assert "Set-Cookie" not in answer.headers  # the browser keeps the signed-in cookie
    assert sim.state.calls[-1]["errcode"] == 40163
    # the browser follows with the newest cookie it has: the signed-in one
    followed = client.get(answer.headers["Location"])
    assert followed.status_code == 302 and followed.headers["Location"] == "/quotes"


def test_a_replayed_code_from_another_flow_is_refused_calmly(app, client, db, sim):
    location = callback_url(start(client), "lina")
    assert client.get(path_of(location)).status_code == 302  # to the phone form
    code = query(location)["code"]
    other = app.test_client()
    state = query(start(other))["state"]
    answer = other.get(f"/auth/wechat/callback?code={code}&state={state}", follow_redirects=True)
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert "已经使用" in page and 'href="/auth/wechat/login' in page
    assert signed_in_user_id(other) is None
    with other.session_transaction() as session:
        assert "wechat_pending" not in session


def test_an_expired_code_asks_to_scan_again(client, sim):
    answer = scan(client, action="expired")
    assert answer.status_code == 400
    assert "过期" in answer.get_data(as_text=True)
    assert signed_in_user_id(client) is None


@pytest.mark.parametrize(
    ("failure", "status", "words"),
    [
        ({"errcode": 40029, "errmsg": "invalid code"}, 400, "不再有效"),
        ({"errcode": -1, "errmsg": "system error"}, 503, "微信暂时没有响应"),
        ({"errcode": 40125, "errmsg": "invalid appsecret"}, 503, "暂时无法使用"),
        ({"errcode": 99999, "errmsg": "something new"}, 502, "无法使用的答复"),
        ({"status": 502}, 503, "微信暂时没有响应"),
    ],
)
def test_wechat_error_answers_become_clear_pages(client, sim, failure, status, words):
    sim.fail("access_token", **failure)
    answer = scan(client)
    assert answer.status_code == status
    page = answer.get_data(as_text=True)
    assert words in page
    assert 'href="/auth/wechat/login' in page
    assert signed_in_user_id(client) is None


def test_wechat_unreachable_on_a_closed_port(app, client, sim):
    app.config["WECHAT_API_BASE_URL"] = f"http://127.0.0.1:{closed_port()}"
    answer = scan(client)
    assert answer.status_code == 503
    assert "微信暂时没有响应" in answer.get_data(as_text=True)


def test_wechat_slower_than_the_timeout_is_unreachable(app, client, sim):
    app.config["WECHAT_TIMEOUT"] = 0.3
    sim.fail("access_token", delay=1.5)
    answer = scan(client, next="/quotes")
    assert answer.status_code == 503
    page = answer.get_data(as_text=True)
    assert "微信暂时没有响应" in page
    assert "next=/quotes" in page.replace("%2F", "/")  # try again keeps where the user was going


def test_failures_are_logged_without_codes_or_openids(client, sim, caplog):
    caplog.set_level(logging.INFO, logger="xometry_site")
    location = callback_url(start(client), "zhangwei")
    code = query(location)["code"]
    sim.fail("access_token", errcode=40029, errmsg="invalid code")
    client.get(path_of(location))
    forged = path_of(callback_url(start(client), "zhangwei")).replace("state=", "state=x")
    client.get(forged)
    logged = caplog.text
    assert "wechat" in logged and "kind=code_invalid" in logged and "mismatch" in logged
    openid = sim.state.openid_for("zhangwei", DEFAULT_APPID)
    for secret in (code, openid, "wx-test-website-secret"):
        assert secret not in logged


def test_in_wechat_without_an_official_account_explains_what_to_do(client, sim):
    answer = client.get("/auth/wechat/login", headers={"User-Agent": WECHAT_UA})
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert "···" in page and "浏览器" in page  # open in the system browser via the menu
    assert 'href="/login' in page  # or sign in with e-mail and password
    assert "qrconnect" not in page
    with client.session_transaction() as session:
        assert "wechat_flow" not in session


def test_in_wechat_with_an_official_account_uses_snsapi_base(app, client, db, sim):
    app.config.update(WECHAT_MP_APP_ID=MP_APPID, WECHAT_MP_APP_SECRET=MP_SECRET)
    location = start(client, headers={"User-Agent": WECHAT_UA})
    params = parse_qs(urlsplit(location).query)
    assert params["appid"] == [MP_APPID] and params["scope"] == ["snsapi_base"]
    answer = client.get(path_of(callback_url(location, "lina")))
    assert answer.headers["Location"].endswith("/auth/wechat/complete")
    with client.session_transaction() as session:
        assert session["wechat_pending"]["appid"] == MP_APPID


def test_desktop_link_is_a_qr_code_even_with_an_official_account(app, client, sim):
    app.config.update(WECHAT_MP_APP_ID=MP_APPID, WECHAT_MP_APP_SECRET=MP_SECRET)
    assert "/connect/qrconnect?" in start(client)


def test_an_unconfigured_app_is_a_page_not_a_500(app, client, sim):
    app.config.update(WECHAT_APP_ID=None)
    answer = client.get("/auth/wechat/login")
    assert answer.status_code == 503
    assert "暂时无法使用" in answer.get_data(as_text=True)
