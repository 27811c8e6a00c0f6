"""The WeChat simulator behaves like WeChat over real HTTP: pages, codes, tokens, failures."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server

from xometry_site.devtools.wechat_sim_client import click, page_forms
from xometry_site.devtools.wechat_sim_state import PRESET_USERS
from xometry_site.devtools.wechat_simulator import create_simulator_app, serve_in_thread

APPID, SECRET = "wx-sim-website", "sim-website-secret"
MP_APPID, MP_SECRET = "wx-sim-mp", "sim-mp-secret"
CALLBACK = "http://127.0.0.1:5000/auth/wechat/callback?next=%2Fquotes"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    sim = serve_in_thread(appid=APPID, secret=SECRET, mp_appid=MP_APPID, mp_secret=MP_SECRET)
    yield sim
    sim.shutdown()


@pytest.fixture
def sim(server):
    requests.post(server.base_url + "/__sim/reset", timeout=5).raise_for_status()
    return server


def qr_link(base: str, **overrides: str) -> str:
    params = {
        "appid": APPID,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "snsapi_login",
        "state": "s7ate",
        **overrides,
    }
    return f"{base}/connect/qrconnect?{urlencode(params)}#wechat_redirect"


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def exchange(base: str, code: str, appid: str = APPID, secret: str = SECRET) -> dict:
    params = {"appid": appid, "secret": secret, "code": code, "grant_type": "authorization_code"}
    answer = requests.get(base + "/sns/oauth2/access_token", params=params, timeout=5)
    assert answer.status_code == 200  # WeChat answers errors with 200 too
    return answer.json()


def api(base: str, path: str, **params: str) -> dict:
    answer = requests.get(base + path, params=params, timeout=5)
    assert answer.status_code == 200
    return answer.json()


def test_qr_page_offers_identities_new_user_refusal_and_expired_codes(sim):
    page = requests.get(qr_link(sim.base_url), timeout=5)
    assert page.status_code == 200
    assert "微信登录" in page.text and "WeChat sign-in" in page.text
    assert "not the real WeChat" in page.text
    forms = page_forms(page.text)
    users = {b.get("data-user") for f in forms for b in f.buttons if b["value"] == "scan"}
    assert users == {user.key for user in PRESET_USERS}
    actions = {b["value"] for f in forms for b in f.buttons}
    assert actions == {"scan", "expired", "new", "refuse"}
    assert all(f.fields["state"] == "s7ate" and f.fields["redirect_uri"] == CALLBACK for f in forms)
    # a nickname is shown as text, never as markup
    assert '<b>"Eng"</b>' not in page.text and "&lt;b&gt;" in page.text


def test_scan_redirects_to_callback_with_code_and_state_keeping_its_query(sim):
    location = click(qr_link(sim.base_url), user="lina")
    assert location.startswith("http://127.0.0.1:5000/auth/wechat/callback?")
    params = query(location)
    assert params["next"] == ["/quotes"] and params["state"] == ["s7ate"]
    assert len(params["code"][0]) == 32
    answer = exchange(sim.base_url, params["code"][0])
    assert answer["openid"] == sim.state.openid_for("lina", APPID)
    assert answer["unionid"] == sim.state.unionid_for("lina")
    assert answer["scope"] == "snsapi_login" and answer["expires_in"] == 7200
    assert answer["access_token"] and answer["refresh_token"]


def test_a_code_works_once_then_wechat_says_code_been_used(sim):
    code = sim.issue_code("zhangwei").code
    assert "openid" in exchange(sim.base_url, code)
    again = exchange(sim.base_url, code)
    assert again["errcode"] == 40163 and again["errmsg"].startswith("code been used")
    assert "openid" not in again


def test_reuse_can_be_answered_40029_like_some_wechat_servers():
    with serve_in_thread(appid=APPID, secret=SECRET, reuse_errcode=40029) as other:
        code = other.issue_code("wangfang").code
        assert "openid" in exchange(other.base_url, code)
        assert exchange(other.base_url, code)["errcode"] == 40029


def test_codes_expire_after_ten_minutes_or_when_asked(sim):
    assert exchange(sim.base_url, sim.issue_code(age_seconds=601).code)["errcode"] == 42003
    assert "openid" in exchange(sim.base_url, sim.issue_code(age_seconds=590).code)
    location = click(qr_link(sim.base_url), user="wangfang", action="expired")
    assert exchange(sim.base_url, query(location)["code"][0])["errcode"] == 42003


def test_refusal_redirects_with_state_and_without_code(sim):
    location = click(qr_link(sim.base_url), action="refuse")
    params = query(location)
    assert "code" not in params
    assert params["state"] == ["s7ate"] and params["next"] == ["/quotes"]


def test_a_new_random_user_has_a_new_identity_and_the_nickname_typed(sim):
    location = click(qr_link(sim.base_url), action="new", nickname="测试 Tester")
    answer = exchange(sim.base_url, query(location)["code"][0])
    presets = {sim.state.unionid_for(user.key) for user in PRESET_USERS}
    assert answer["unionid"] not in presets
    info = api(
        sim.base_url, "/sns/userinfo", access_token=answer["access_token"], openid=answer["openid"]
    )
    assert info["nickname"] == "测试 Tester"


def test_wrong_app_credentials_and_unknown_codes_get_wechat_errcodes(sim):
    code = sim.issue_code().code
    assert exchange(sim.base_url, code, appid="wx-nope")["errcode"] == 40013
    assert exchange(sim.base_url, code, secret="wrong")["errcode"] == 40125
    assert exchange(sim.base_url, code, appid=MP_APPID, secret=MP_SECRET)["errcode"] == 40029
    assert exchange(sim.base_url, "A" * 32)["errcode"] == 40029
    assert exchange(sim.base_url, "")["errcode"] == 41008
    assert "openid" in exchange(sim.base_url, code)  # failed attempts did not use the code


def test_openid_differs_per_app_and_unionid_is_shared(sim):
    website = exchange(sim.base_url, sim.issue_code("lina").code)
    mp_code = sim.issue_code("lina", MP_APPID).code
    mp = exchange(sim.base_url, mp_code, appid=MP_APPID, secret=MP_SECRET)
    assert website["openid"] != mp["openid"]
    assert website["unionid"] == mp["unionid"]
    assert mp["scope"] == "snsapi_base"


def test_without_open_platform_binding_there_is_no_unionid(sim):
    answer = exchange(sim.base_url, sim.issue_code("lina", with_unionid=False).code)
    assert answer["openid"] and "unionid" not in answer


def test_userinfo_has_nickname_avatar_and_region_but_no_phone_or_email(sim):
    answer = exchange(sim.base_url, sim.issue_code("zhangwei").code)
    token, openid = answer["access_token"], answer["openid"]
    info = api(sim.base_url, "/sns/userinfo", access_token=token, openid=openid)
    assert info["nickname"] == "张伟" and info["city"] == "Shenzhen"
    assert info["unionid"] == answer["unionid"]
    assert not {"phone", "mobile", "email"} & set(info)
    avatar = requests.get(info["headimgurl"], timeout=5)
    assert avatar.headers["Content-Type"].startswith("image/svg+xml")
    wrong = api(sim.base_url, "/sns/userinfo", access_token=token, openid="o" + "x" * 27)
    assert wrong["errcode"] == 40003


def test_snsapi_base_tokens_cannot_read_userinfo(sim):
    mp_code = sim.issue_code("lina", MP_APPID).code
    answer = exchange(sim.base_url, mp_code, appid=MP_APPID, secret=MP_SECRET)
    info = api(
        sim.base_url, "/sns/userinfo", access_token=answer["access_token"], openid=answer["openid"]
    )
    assert info["errcode"] == 48001


def test_refresh_gives_a_new_access_token_and_auth_checks_it(sim):
    answer = exchange(sim.base_url, sim.issue_code().code)
    fresh = api(
        sim.base_url,
        "/sns/oauth2/refresh_token",
        appid=APPID,
        grant_type="refresh_token",
        refresh_token=answer["refresh_token"],
    )
    assert fresh["access_token"] != answer["access_token"]
    assert fresh["refresh_token"] == answer["refresh_token"]
    assert fresh["openid"] == answer["openid"]
    ok = api(sim.base_url, "/sns/auth", access_token=fresh["access_token"], openid=fresh["openid"])
    assert ok == {"errcode": 0, "errmsg": "ok"}
    bad = api(sim.base_url, "/sns/auth", access_token="nope", openid=fresh["openid"])
    assert bad["errcode"] == 40001
    unknown = api(
        sim.base_url,
        "/sns/oauth2/refresh_token",
        appid=APPID,
        grant_type="refresh_token",
        refresh_token="nope",
    )
    assert unknown["errcode"] == 40030


def test_failures_can_be_injected_counted_and_reset(sim):
    hook = sim.base_url + "/__sim/fail"
    body = {"endpoint": "/sns/oauth2/access_token", "errcode": -1, "times": 1}
    requests.post(hook, json=body, timeout=5).raise_for_status()
    code = sim.issue_code().code
    assert exchange(sim.base_url, code)["errcode"] == -1
    assert "openid" in exchange(sim.base_url, code)  # only once, and the code survived
    requests.post(hook, json={"endpoint": "access_token", "status": 502}, timeout=5)
    broken = requests.get(sim.base_url + "/sns/oauth2/access_token", timeout=5)
    assert broken.status_code == 502
    requests.post(hook, json={"endpoint": "userinfo", "errcode": 40001, "times": 5}, timeout=5)
    requests.post(sim.base_url + "/__sim/reset", timeout=5)
    assert api(sim.base_url, "/sns/userinfo")["errcode"] == 41001  # the failure is gone
    assert requests.post(hook, json={"endpoint": "nope"}, timeout=5).status_code == 400


def test_call_log_records_errcodes_but_never_codes_or_secrets(sim):
    code = sim.issue_code().code
    exchange(sim.base_url, code)
    exchange(sim.base_url, code)
    calls = requests.get(sim.base_url + "/__sim/calls", timeout=5).json()["calls"]
    assert [c["errcode"] for c in calls] == [0, 40163]
    assert code not in str(calls) and SECRET not in str(calls)


def test_scan_hook_issues_a_code_without_the_browser(sim):
    body = {"user": "wangfang", "redirect_uri": CALLBACK, "state": "abc"}
    issued = requests.post(sim.base_url + "/__sim/scan", json=body, timeout=5).json()
    params = query(issued["redirect_url"])
    assert params["code"] == [issued["code"]] and params["state"] == ["abc"]
    assert exchange(sim.base_url, issued["code"])["openid"] == issued["openid"]
    refused = requests.post(sim.base_url + "/__sim/scan", json={**body, "refuse": True}, timeout=5)
    assert "code" not in query(refused.json()["redirect_url"])
    unknown = requests.post(sim.base_url + "/__sim/scan", json={"user": "nobody"}, timeout=5)
    assert unknown.status_code == 400


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"appid": "wx-nope"}, "invalid appid"),
        ({"appid": MP_APPID}, "invalid appid"),  # an Official Account cannot do QR sign-in
        ({"scope": "snsapi_base"}, "invalid scope"),
        ({"response_type": "token"}, "response_type"),
        ({"redirect_uri": "javascript:alert(1)"}, "invalid redirect_uri"),
        ({"redirect_uri": "/relative"}, "invalid redirect_uri"),
    ],
)
def test_bad_sign_in_links_get_wechats_error_page(sim, change, reason):
    page = requests.get(qr_link(sim.base_url, **change), timeout=5)
    assert page.status_code == 400
    assert "参数错误" in page.text and reason in page.text


def test_only_authorised_callback_hosts_when_configured():
    with serve_in_thread(appid=APPID, secret=SECRET, redirect_hosts={"xometry.asia"}) as other:
        assert requests.get(qr_link(other.base_url), timeout=5).status_code == 400
        allowed = qr_link(other.base_url, redirect_uri="https://xometry.asia/auth/wechat/callback")
        assert requests.get(allowed, timeout=5).status_code == 200


def test_in_wechat_authorisation_page_for_the_official_account(sim):
    params = {
        "appid": MP_APPID,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "snsapi_base",
        "state": "mp",
    }
    link = f"{sim.base_url}/connect/oauth2/authorize?{urlencode(params)}#wechat_redirect"
    page = requests.get(link, timeout=5)
    assert "微信网页授权" in page.text
    location = click(link, user="zhangwei")
    answer = exchange(sim.base_url, query(location)["code"][0], MP_APPID, MP_SECRET)
    assert answer["openid"] == sim.state.openid_for("zhangwei", MP_APPID)
    wrong_app = {**params, "appid": APPID}  # the website app cannot authorise inside WeChat
    refused = requests.get(
        f"{sim.base_url}/connect/oauth2/authorize?{urlencode(wrong_app)}", timeout=5
    )
    assert refused.status_code == 400


def test_works_mounted_under_a_prefix_of_another_app():
    site = Flask("stand_in_site")
    site.add_url_rule("/", "home", lambda: "the site")
    simulator = create_simulator_app(APPID, SECRET)
    site.wsgi_app = DispatcherMiddleware(site.wsgi_app, {"/__wechat__": simulator})
    server = make_server("127.0.0.1", 0, site, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        assert requests.get(base + "/", timeout=5).text == "the site"
        page = requests.get(qr_link(base + "/__wechat__"), timeout=5)
        assert page.status_code == 200
        assert {f.action for f in page_forms(page.text)} == {"/__wechat__/connect/confirm"}
        assert 'href="/__wechat__/__sim/sim.css"' in page.text
        location = click(qr_link(base + "/__wechat__"), user="lina")
        answer = exchange(base + "/__wechat__", query(location)["code"][0])
        assert answer["openid"] == simulator.extensions["wechat_simulator"].openid_for(
            "lina", APPID
        )
        info = api(
            base + "/__wechat__",
            "/sns/userinfo",
            access_token=answer["access_token"],
            openid=answer["openid"],
        )
        assert info["headimgurl"].startswith(base + "/__wechat__/__sim/avatar/")
    finally:
        server.shutdown()
        server.server_close()
