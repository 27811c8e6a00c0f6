"""A phone visitor signs up and back in with WeChat in real Chromium, against the simulator."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import fits_the_phone

from xometry_site.devtools.wechat_simulator import DEFAULT_APPID, serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36 MicroMessenger/8.0.47.2560(0x28002F35) WeChat/arm64"
)


@pytest.fixture(scope="module")
def simulator():
    server = serve_in_thread()
    yield server
    server.shutdown()


@pytest.fixture
def app_config(simulator) -> dict:
    simulator.reset()
    return {
        "WECHAT_APP_ID": DEFAULT_APPID,
        "WECHAT_OPEN_BASE_URL": simulator.base_url,
        "WECHAT_API_BASE_URL": simulator.base_url,
        "WECHAT_MP_APP_ID": None,
        "SMS_BACKEND": "console",
    }


def sms_code(app, phone: str) -> str:
    """The code in the newest text the console backend wrote for `phone`."""
    log = Path(app.instance_path) / "outbox" / "sms.log"
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    text = [line["text"] for line in lines if line["to"] == phone][-1]
    return re.search(r"\b(\d{6})\b", text).group(1)


def scan_as(page, user: str) -> None:
    """On the simulator's page: "Sign in as …" for a preset user."""
    page.wait_for_url("**/connect/qrconnect?**")
    assert "Development simulator" in page.content()
    page.locator(f"button[data-user='{user}'][value='scan']").click()


def test_sign_up_with_wechat_and_a_phone_then_sign_in_again(app, db, phone_page, live_server):
    page = phone_page
    page.goto("/login")
    if page.locator("#cookie-banner").count():
        page.locator("#cookie-banner").get_by_role("button", name="仅必要 Cookie").click()
    page.get_by_role("link", name="微信登录").click()
    scan_as(page, "zhangwei")

    page.wait_for_url("**/auth/wechat/complete")
    assert page.locator("h1").inner_text() == "完成微信注册"
    assert fits_the_phone(page)
    page.get_by_label("手机号码").fill("139 1234 5678")
    page.get_by_role("button", name="发送验证码").click()
    page.wait_for_url("**/auth/wechat/complete")
    assert "已向您的手机发送 6 位验证码" in page.locator(".flashes").inner_text()
    assert page.get_by_label("手机号码").input_value() == "+8613912345678"

    page.get_by_label("短信验证码").fill(sms_code(app, "+8613912345678"))
    page.get_by_label("我已阅读并接受《个人信息保护政策》。").check()
    page.get_by_label("我已年满 18 周岁，或代表机构行事。").check()
    page.get_by_role("button", name="创建账户").click()

    page.wait_for_url("**/account")
    assert "您的账户已创建" in page.locator(".flashes").inner_text()
    assert page.get_by_role("button", name="退出").count() == 1

    from xometry_site.models import User, WeChatIdentity

    user = db.session.scalars(db.select(User)).one()
    assert user.phone == "+8613912345678" and user.phone_verified_at is not None
    assert db.session.scalars(db.select(WeChatIdentity)).one().user_id == user.id

    # signed out, the same WeChat account signs straight back in
    page.get_by_role("button", name="退出").click()
    page.goto("/login?next=/account/wechat")
    page.get_by_role("link", name="微信登录").click()
    scan_as(page, "zhangwei")
    page.wait_for_url("**/account/wechat")
    assert "您的账户已绑定一个微信账号" in page.content()
    assert db.session.scalar(db.select(db.func.count(User.id))) == 1


def test_inside_wechat_without_an_official_account_the_page_explains(browser, live_server):
    context = browser.new_context(
        viewport={"width": 375, "height": 812},
        user_agent=WECHAT_UA,
        base_url=live_server.url,
        is_mobile=True,
        extra_http_headers={"Accept-Language": "zh-CN"},
    )
    page = context.new_page()
    try:
        page.goto("/login")
        page.get_by_role("link", name="微信登录").click()
        page.wait_for_url("**/auth/wechat/login*")
        assert "在浏览器打开" in page.locator("main").inner_text()
        assert page.locator("svg.qr").count() == 0
        page.get_by_role("link", name="使用邮箱和密码登录").click()
        page.wait_for_url("**/login*")
    finally:
        context.close()
