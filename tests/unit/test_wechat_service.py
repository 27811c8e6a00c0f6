"""The WeChat service against the simulator over real HTTP: links, identities, failure kinds."""

from __future__ import annotations

import logging
import socket
import threading
from urllib.parse import parse_qs, urlsplit

import pytest

from xometry_site.devtools.wechat_sim_client import click
from xometry_site.devtools.wechat_simulator import serve_in_thread
from xometry_site.services.accounts.wechat import (
    WeChatError,
    WeChatIdentity,
    build_authorize_url,
    exchange_code,
    is_wechat_browser,
)

APPID, SECRET = "wx-svc-website", "svc-website-secret"
MP_APPID, MP_SECRET = "wx-svc-mp", "svc-mp-secret"
CALLBACK = "http://127.0.0.1:5000/auth/wechat/callback?next=/quotes&x=a b"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    sim = serve_in_thread(appid=APPID, secret=SECRET, mp_appid=MP_APPID, mp_secret=MP_SECRET)
    yield sim
    sim.shutdown()


@pytest.fixture
def sim(server):
    server.reset()
    return server


@pytest.fixture
def settings(sim) -> dict:
    """The site's WeChat settings (as in the Flask config) pointing at the simulator."""
    return {
        "WECHAT_APP_ID": APPID,
        "WECHAT_APP_SECRET": SECRET,
        "WECHAT_MP_APP_ID": MP_APPID,
        "WECHAT_MP_APP_SECRET": MP_SECRET,
        "WECHAT_OPEN_BASE_URL": sim.base_url,
        "WECHAT_API_BASE_URL": sim.base_url + "/",
        "WECHAT_TIMEOUT": 2,
    }


def failure_of(settings: dict, code: str | None, in_wechat: bool = False) -> WeChatError:
    with pytest.raises(WeChatError) as caught:
        exchange_code(settings, code, in_wechat)
    return caught.value


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- links ----------------------------------------------------------------------------------


def test_qr_link_carries_app_scope_state_and_an_encoded_redirect_uri(settings, sim):
    url = build_authorize_url(settings, CALLBACK, "st+a/te=", in_wechat=False)
    parts = urlsplit(url)
    assert url.startswith(sim.base_url + "/connect/qrconnect?")
    assert parts.fragment == "wechat_redirect"
    assert parse_qs(parts.query) == {
        "appid": [APPID],
        "redirect_uri": [CALLBACK],
        "response_type": ["code"],
        "scope": ["snsapi_login"],
        "state": ["st+a/te="],
    }
    assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2F" in parts.query
    assert "next" not in parse_qs(parts.query)  # the callback's own query stays inside it


def test_in_wechat_link_uses_the_official_account_with_snsapi_base(settings, sim):
    url = build_authorize_url(settings, CALLBACK, "abc", in_wechat=True)
    assert url.startswith(sim.base_url + "/connect/oauth2/authorize?")
    params = parse_qs(urlsplit(url).query)
    assert params["appid"] == [MP_APPID] and params["scope"] == ["snsapi_base"]
    assert params["state"] == ["abc"] and params["redirect_uri"] == [CALLBACK]


def test_in_wechat_without_an_official_account_falls_back_to_qr_sign_in(settings):
    settings["WECHAT_MP_APP_ID"] = None
    url = build_authorize_url(settings, CALLBACK, "abc", in_wechat=True)
    assert "/connect/qrconnect?" in url and f"appid={APPID}&" in url


def test_default_base_urls_are_wechats():
    settings = {"WECHAT_APP_ID": APPID, "WECHAT_APP_SECRET": SECRET}
    url = build_authorize_url(settings, CALLBACK, "abc", in_wechat=False)
    assert url.startswith("https://open.weixin.qq.com/connect/qrconnect?appid=wx-svc-website&")


def test_a_link_needs_a_state_and_a_configured_app(settings):
    with pytest.raises(ValueError):
        build_authorize_url(settings, CALLBACK, "", in_wechat=False)
    with pytest.raises(WeChatError) as caught:
        build_authorize_url({}, CALLBACK, "abc", in_wechat=False)
    assert caught.value.kind == "bad_config"


# --- the whole flow through the simulator's page ----------------------------------------------


def test_link_page_scan_callback_and_exchange_give_the_scanned_identity(settings, sim):
    location = click(build_authorize_url(settings, CALLBACK, "st+a/te=", False), user="lina")
    callback = parse_qs(urlsplit(location).query)
    assert location.startswith("http://127.0.0.1:5000/auth/wechat/callback?")
    assert callback["state"] == ["st+a/te="] and callback["next"] == ["/quotes"]
    identity = exchange_code(settings, callback["code"][0])
    assert identity == WeChatIdentity(
        APPID, sim.state.openid_for("lina", APPID), sim.state.unionid_for("lina")
    )


def test_in_wechat_flow_gives_the_same_account_key_as_qr_sign_in(settings, sim):
    location = click(build_authorize_url(settings, CALLBACK, "abc", True), user="wangfang")
    in_wechat = exchange_code(settings, parse_qs(urlsplit(location).query)["code"][0], True)
    on_desktop = exchange_code(settings, sim.issue_code("wangfang").code)
    assert in_wechat.appid == MP_APPID and in_wechat.openid != on_desktop.openid
    assert in_wechat.key == on_desktop.key == f"unionid:{sim.state.unionid_for('wangfang')}"


def test_refusal_has_no_code_and_is_refused_without_calling_wechat(settings, sim):
    location = click(build_authorize_url(settings, CALLBACK, "abc", False), action="refuse")
    code = parse_qs(urlsplit(location).query).get("code", [None])[0]
    assert failure_of(settings, code).kind == "refused"
    assert sim.state.calls == []


# --- identities -----------------------------------------------------------------------------


def test_identity_key_is_unionid_when_present(settings, sim):
    identity = exchange_code(settings, sim.issue_code("zhangwei").code)
    assert identity.unionid == sim.state.unionid_for("zhangwei")
    assert identity.key == f"unionid:{identity.unionid}"


def test_identity_key_is_app_and_openid_without_unionid(settings, sim):
    identity = exchange_code(settings, sim.issue_code("zhangwei", with_unionid=False).code)
    assert identity.unionid is None
    assert identity.key == f"openid:{APPID}:{sim.state.openid_for('zhangwei', APPID)}"


def test_concurrent_exchanges_each_get_their_own_identity(settings, sim):
    users = ["zhangwei", "lina", "wangfang", "tricky"] * 2
    codes = [sim.issue_code(user).code for user in users]
    results: dict[int, WeChatIdentity] = {}

    def run(i: int) -> None:
        results[i] = exchange_code(settings, codes[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(codes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert [results[i].openid for i in range(len(users))] == [
        sim.state.openid_for(user, APPID) for user in users
    ]


# --- failures -------------------------------------------------------------------------------


def test_a_replayed_code_is_code_used(settings, sim):
    code = sim.issue_code().code
    exchange_code(settings, code)
    error = failure_of(settings, code)
    assert (error.kind, error.errcode) == ("code_used", 40163)


def test_an_unknown_code_is_code_invalid(settings):
    error = failure_of(settings, "0" * 32)
    assert (error.kind, error.errcode) == ("code_invalid", 40029)


def test_an_old_code_is_code_expired(settings, sim):
    error = failure_of(settings, sim.issue_code(age_seconds=601).code)
    assert (error.kind, error.errcode) == ("code_expired", 42003)


def test_wrong_secret_or_appid_is_bad_config(settings, sim):
    code = sim.issue_code().code
    error = failure_of({**settings, "WECHAT_APP_SECRET": "wrong"}, code)
    assert (error.kind, error.errcode) == ("bad_config", 40125)
    error = failure_of({**settings, "WECHAT_APP_ID": "wx-other"}, code)
    assert (error.kind, error.errcode) == ("bad_config", 40013)


def test_an_unconfigured_app_is_bad_config_without_calling_wechat(settings, sim):
    error = failure_of({**settings, "WECHAT_APP_SECRET": None}, sim.issue_code().code)
    assert (error.kind, error.errcode) == ("bad_config", None)
    assert sim.state.calls == []


def test_a_slow_wechat_is_unreachable_after_the_timeout(settings, sim):
    sim.fail("access_token", delay=3)
    error = failure_of({**settings, "WECHAT_TIMEOUT": 0.2}, sim.issue_code().code)
    assert (error.kind, error.errcode) == ("unreachable", None)


def test_a_closed_port_is_unreachable(settings, sim):
    dead = f"http://127.0.0.1:{closed_port()}"
    error = failure_of({**settings, "WECHAT_API_BASE_URL": dead}, sim.issue_code().code)
    assert (error.kind, error.errcode) == ("unreachable", None)


@pytest.mark.parametrize(
    ("failure", "kind", "errcode"),
    [
        ({"status": 502}, "unreachable", None),  # a proxy's error page, not JSON
        ({"errcode": -1}, "unreachable", -1),  # WeChat busy
        ({"errcode": 40164}, "bad_config", 40164),  # our server IP not allowed
        ({"errcode": 99999}, "other", 99999),
    ],
)
def test_wechat_errors_become_kinds(settings, sim, failure, kind, errcode):
    sim.fail("access_token", **failure)
    error = failure_of(settings, sim.issue_code().code)
    assert (error.kind, error.errcode) == (kind, errcode)


def test_failures_log_one_line_without_code_secret_or_openid(settings, sim, caplog):
    issued = sim.issue_code()
    exchange_code(settings, issued.code)
    dead = {**settings, "WECHAT_API_BASE_URL": f"http://127.0.0.1:{closed_port()}"}
    with caplog.at_level(logging.INFO, logger="xometry_site.services.accounts.wechat"):
        errors = [failure_of(settings, issued.code), failure_of(dead, issued.code)]
    lines = [
        r.getMessage() for r in caplog.records if r.name == "xometry_site.services.accounts.wechat"
    ]
    assert lines == [
        "wechat sign-in failed kind=code_used errcode=40163",
        "wechat sign-in failed kind=unreachable errcode=None error=ConnectionError",
    ]
    for error in errors:
        assert error.__cause__ is None and error.__suppress_context__  # no URL in tracebacks
        assert issued.code not in str(error) and SECRET not in str(error)
    logged = caplog.text
    assert issued.code not in logged and SECRET not in logged and issued.openid not in logged


# --- the browser ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) "
            "NetType/WIFI Language/zh_CN",
            True,
        ),
        (
            "Mozilla/5.0 (Linux; Android 13; V2203A) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Version/4.0 Chrome/111.0.5563.116 Mobile Safari/537.36 XWEB/1110005 "
            "MMWEBSDK/20231202 MMWEBID/2247 MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64",
            True,
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0 Safari/537.36",
            False,
        ),
        ("", False),
        (None, False),
    ],
)
def test_wechat_browser_is_recognised_by_its_user_agent(user_agent, expected):
    assert is_wechat_browser(user_agent) is expected
