"""Shared by the test_wechat_* modules: the simulator over real HTTP and the steps of a sign-in.

A test module takes the fixtures with `from wechat_support import *` (only they are exported).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from xometry_site.devtools.wechat_sim_client import click
from xometry_site.devtools.wechat_simulator import DEFAULT_APPID, serve_in_thread

__all__ = ["app_config", "sim", "sim_server"]  # the fixtures

MP_APPID, MP_SECRET = "wx-test-official-account", "wx-test-mp-secret"
WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
)
PHONE = "+8613912345678"


@pytest.fixture(scope="module")
def sim_server():
    """One simulator per module (TestingConfig's app id and secret, plus an Official Account)."""
    server = serve_in_thread(mp_appid=MP_APPID, mp_secret=MP_SECRET)
    yield server
    server.shutdown()


@pytest.fixture
def sim(sim_server):
    sim_server.reset()
    return sim_server


def wechat_settings(sim) -> dict:
    """The site's WeChat settings pointing at the simulator; the MP only when a test adds it."""
    return {
        "WECHAT_APP_ID": DEFAULT_APPID,
        "WECHAT_OPEN_BASE_URL": sim.base_url,
        "WECHAT_API_BASE_URL": sim.base_url,
        "WECHAT_TIMEOUT": 2,
        "WECHAT_MP_APP_ID": None,
        "WECHAT_MP_APP_SECRET": None,
        "SMS_BACKEND": "console",
    }


@pytest.fixture
def app_config(sim) -> dict:
    return wechat_settings(sim)


def path_of(url: str) -> str:
    """The path and query of an absolute URL, for the test client."""
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def start(client, *, headers: dict | None = None, **args) -> str:
    """Click "Sign in with WeChat": the simulator URL the site redirects to."""
    response = client.get("/auth/wechat/login", query_string=args, headers=headers or {})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"]


def callback_url(authorize_url: str, user: str = "zhangwei", action: str = "scan", **kw) -> str:
    """Press a button on the simulator's page; the site's callback URL it redirects to."""
    return click(authorize_url, user=user, action=action, **kw)


def scan(client, user: str = "zhangwei", *, action: str = "scan", headers=None, **args):
    """A whole trip: site → simulator page → scan as `user` → the site's callback answer."""
    location = callback_url(start(client, headers=headers, **args), user=user, action=action)
    return client.get(path_of(location), headers=headers or {})


def sms_lines(app) -> list[dict]:
    """What the console SMS backend wrote to instance/outbox/sms.log."""
    path = Path(app.instance_path) / "outbox" / "sms.log"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def last_code(app, phone: str = PHONE) -> str:
    """The code in the newest text sent to `phone`."""
    texts = [line["text"] for line in sms_lines(app) if line["to"] == phone]
    assert texts, f"no text was sent to {phone}"
    return re.search(r"\b(\d{6})\b", texts[-1]).group(1)


def send_code(client, phone: str = PHONE):
    return client.post("/auth/wechat/complete/send-code", data={"phone": phone})


def complete(client, code: str, phone: str = PHONE, **overrides):
    data = {"phone": phone, "code": code, "accept_policy": "y", "confirm_adult": "y"}
    data.update(overrides)
    return client.post("/auth/wechat/complete", data={k: v for k, v in data.items() if v})


def register(client, app, user: str = "zhangwei", phone: str = PHONE):
    """First WeChat sign-in all the way to a new account; returns the final response."""
    answer = scan(client, user)
    assert answer.headers["Location"].endswith("/auth/wechat/complete")
    assert send_code(client, phone).status_code == 302
    return complete(client, last_code(app, phone), phone)
