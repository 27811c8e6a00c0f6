"""Binding and unbinding WeChat in Account Details, and confirming one's identity with WeChat."""

from __future__ import annotations

import time

import pytest
from wechat_support import *  # noqa: F403 - the fixtures app_config, sim, sim_server
from wechat_support import (
    callback_url,
    path_of,
    register,
    scan,
    start,
)

from xometry_site.models import User, WeChatIdentity
from xometry_site.security import REAUTH_KEY

pytestmark = pytest.mark.slow


def bind(client, user: str = "zhangwei"):
    """Press "Bind WeChat" and scan as `user`: the callback's answer."""
    return scan(client, user, purpose="bind", next="/account/wechat")


def identities(db, user) -> list[WeChatIdentity]:
    return db.session.scalars(db.select(WeChatIdentity).filter_by(user_id=user.id)).all()


def test_binding_needs_a_signed_in_user(client, sim):
    response = client.get("/auth/wechat/login?purpose=bind")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_binding_needs_a_recent_password(client, make_user, login_as, sim):
    login_as(make_user(), fresh=False)
    response = client.get("/auth/wechat/login?purpose=bind&next=/account/wechat")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/reauthenticate?next=")
    assert "purpose%3Dbind" in response.headers["Location"]


def test_the_page_offers_to_bind_and_is_not_cached(client, make_user, login_as):
    login_as(make_user())
    response = client.get("/account/wechat")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "尚未绑定微信账号" in page
    assert 'href="/auth/wechat/login?purpose=bind' in page


def test_binding_then_signing_in_with_wechat(app, client, db, make_user, login_as, sim):
    user = make_user()
    login_as(user)
    response = bind(client, "zhangwei")
    assert response.status_code == 302 and response.headers["Location"] == "/account/wechat"
    page = client.get("/account/wechat").get_data(as_text=True)
    assert "微信账号已绑定" in page and "解绑微信" in page
    [row] = identities(db, user)
    assert row.openid == sim.state.openid_for("zhangwei", row.appid)
    assert row.unionid == sim.state.unionid_for("zhangwei")
    client.post("/logout")
    assert scan(client, "zhangwei").status_code == 302
    with client.session_transaction() as session:
        assert session["_user_id"] == db.session.get(User, user.id).get_id()


def test_binding_the_same_wechat_twice_says_so(client, db, make_user, login_as, sim):
    user = make_user()
    login_as(user)
    bind(client, "lina")
    bind(client, "lina")
    assert "早已绑定到您的账户" in client.get("/account/wechat").get_data(as_text=True)
    assert len(identities(db, user)) == 1


def test_a_wechat_bound_to_another_account_is_refused(app, client, db, make_user, login_as, sim):
    register(app.test_client(), app, "lina")  # lina's WeChat already has its own account
    other = make_user()
    login_as(other)
    response = bind(client, "lina")
    assert response.status_code == 302
    page = client.get("/account/wechat").get_data(as_text=True)
    assert "已绑定到另一个 Xometry Asia 账户" in page
    assert identities(db, other) == []
    assert db.session.scalar(db.select(db.func.count(WeChatIdentity.id))) == 1


def test_a_second_wechat_account_is_refused(client, db, make_user, login_as, sim):
    user = make_user()
    login_as(user)
    bind(client, "zhangwei")
    bind(client, "wangfang")
    assert "已绑定另一个微信账号" in client.get("/account/wechat").get_data(as_text=True)
    assert [row.unionid for row in identities(db, user)] == [sim.state.unionid_for("zhangwei")]


def test_a_bind_started_by_someone_else_in_this_browser_does_nothing(
    app, client, db, make_user, login_as, sim
):
    first, second = make_user(), make_user()
    login_as(first)
    location = callback_url(start(client, purpose="bind"), "zhangwei")
    with client.session_transaction() as session:  # another user took over this browser
        session["_user_id"] = second.get_id()
    assert client.get(path_of(location)).status_code == 400
    assert identities(db, first) == [] and identities(db, second) == []


def test_unbinding(client, db, make_user, login_as, sim):
    user = make_user()
    login_as(user)
    bind(client, "zhangwei")
    response = client.post("/account/wechat/unbind")
    assert response.status_code == 302
    assert "微信已解绑" in client.get("/account/wechat").get_data(as_text=True)
    assert identities(db, user) == []
    client.post("/logout")
    # the WeChat account is a stranger again: a new sign-up, not this account
    assert scan(client, "zhangwei").headers["Location"].endswith("/auth/wechat/complete")


def test_the_last_way_to_sign_in_cannot_be_unbound(app, client, db, sim):
    register(client, app, "wangfang")  # a WeChat account: no e-mail, no password
    page = client.get("/account/wechat").get_data(as_text=True)
    assert "唯一方式" in page and 'action="/account/wechat/unbind"' not in page
    response = client.post("/account/wechat/unbind")
    assert response.status_code == 409
    assert "无法解绑" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(WeChatIdentity.id))) == 1


def test_an_unverified_address_without_password_is_not_a_way_in(
    client, db, make_user, login_as, sim
):
    user = make_user(password=None, email_verified_at=None)
    login_as(user)
    bind(client, "zhangwei")
    assert client.post("/account/wechat/unbind").status_code == 409
    assert len(identities(db, user)) == 1


def test_a_verified_address_without_password_is_a_way_in(client, db, make_user, login_as, sim):
    user = make_user(password=None)  # can set a password through a reset mail
    login_as(user)
    bind(client, "zhangwei")
    assert client.post("/account/wechat/unbind").status_code == 302
    assert identities(db, user) == []


def test_unbinding_needs_a_csrf_token(app, client, db, make_user, login_as, sim):
    user = make_user()
    login_as(user)
    bind(client, "zhangwei")
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/account/wechat/unbind").status_code == 400
    assert len(identities(db, user)) == 1


# --- WeChat as the proof of identity for sensitive changes ----------------------------------


def test_a_wechat_user_confirms_their_identity_by_scanning_again(app, client, db, sim):
    register(client, app, "lina")
    with client.session_transaction() as session:
        session[REAUTH_KEY] = int(time.time()) - 3600  # the proof is an hour old
    answer = scan(client, "lina", next="/account/email")  # what /reauthenticate links to
    assert answer.status_code == 302 and answer.headers["Location"] == "/account/email"
    with client.session_transaction() as session:
        assert time.time() - session[REAUTH_KEY] < 60


def test_confirming_with_a_different_wechat_is_refused(app, client, db, sim):
    register(client, app, "lina")
    with client.session_transaction() as session:
        session[REAUTH_KEY] = 0
    answer = scan(client, "wangfang", next="/account/email")
    assert answer.status_code == 403
    assert "另一个微信账号" in answer.get_data(as_text=True)
    with client.session_transaction() as session:
        assert session[REAUTH_KEY] == 0
    assert db.session.scalar(db.select(db.func.count(User.id))) == 1


def test_a_wechat_of_another_account_is_refused_through_the_official_account_too(
    app, client, db, make_user, login_as, sim
):
    """Bound elsewhere by QR code (website app), offered here from inside WeChat (Official
    Account: another app, another OpenID, the same UnionID): still the other account's."""
    from wechat_support import MP_APPID, MP_SECRET, WECHAT_UA

    register(app.test_client(), app, "lina")
    app.config.update(WECHAT_MP_APP_ID=MP_APPID, WECHAT_MP_APP_SECRET=MP_SECRET)
    other = make_user()
    login_as(other)
    in_wechat = {"User-Agent": WECHAT_UA}
    location = start(client, headers=in_wechat, purpose="bind", next="/account/wechat")
    assert location.startswith(sim.base_url + "/connect/oauth2/authorize?")
    client.get(path_of(callback_url(location, "lina")), headers=in_wechat)
    assert identities(db, other) == []
    assert "已绑定到另一个 Xometry Asia 账户" in client.get("/account/wechat").get_data(
        as_text=True
    )


def test_a_state_is_used_once_a_second_callback_never_reaches_wechat(
    app, client, db, make_user, login_as, sim
):
    import requests

    user = make_user()
    login_as(user)
    bind(client, "zhangwei")
    location = start(client, next="/account/email")  # signed in: a re-authentication
    first, second = callback_url(location, "zhangwei"), callback_url(location, "zhangwei")

    def exchanges() -> int:
        calls = requests.get(sim.base_url + "/__sim/calls", timeout=5).json()["calls"]
        return sum(1 for call in calls if "access_token" in call["endpoint"])

    before = exchanges()
    assert client.get(path_of(first)).headers["Location"] == "/account/email"
    assert exchanges() == before + 1
    client.get(path_of(second))  # the same state with a fresh code: a duplicate, not a new proof
    assert exchanges() == before + 1
