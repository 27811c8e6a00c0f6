"""A customer who signed up with WeChat signs in inside WeChat's browser (no QR code can be
scanned there, no password exists) with a code sent to the phone, on a 375 px screen."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import fits_the_phone

from xometry_site.models.base import utcnow

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = "+8613912345678"
WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36 MicroMessenger/8.0.47.2560(0x28002F35) WeChat/arm64"
)


def sms_code(app) -> str:
    """The code in the newest text the console backend wrote for PHONE."""
    import json

    log = Path(app.instance_path) / "outbox" / "sms.log"
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    text = [line["text"] for line in lines if line["to"] == PHONE][-1]
    return re.search(r"\b(\d{6})\b", text).group(1)


@pytest.fixture
def wechat_page(browser, live_server):
    """A 375 px phone page in Chinese whose browser is WeChat's own."""
    context = browser.new_context(
        viewport={"width": 375, "height": 812},
        locale="zh-CN",
        user_agent=WECHAT_UA,
        extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"},
        base_url=live_server.url,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def test_sign_in_with_an_sms_code_inside_wechat_on_a_phone(app, make_user, wechat_page):
    make_user(email=None, password=None, phone=PHONE, phone_verified_at=utcnow())
    page = wechat_page
    page.goto("/login?next=/quotes")
    banner = page.locator("#cookie-banner")
    if banner.count():
        banner.get_by_role("button", name="仅必要 Cookie").click()
    assert "正在微信中浏览" in page.content()
    assert fits_the_phone(page)
    page.get_by_role("link", name="短信验证码登录").first.click()

    page.wait_for_url("**/login/sms?next=/quotes")
    assert page.locator("h1").inner_text() == "短信验证码登录"
    assert fits_the_phone(page)
    page.get_by_label("手机号码").fill("139 1234 5678")
    page.get_by_role("button", name="发送验证码").click()

    page.wait_for_url("**/login/sms?next=/quotes")
    assert "已向 +86 139****5678 发送 6 位验证码" in page.locator(".flashes").inner_text()
    assert fits_the_phone(page)
    page.get_by_label("短信验证码").fill("000000" if sms_code(app) != "000000" else "111111")
    page.get_by_role("button", name="登录", exact=True).click()
    assert "验证码不正确" in page.locator("#code-errors").inner_text()
    assert fits_the_phone(page)
    page.get_by_label("短信验证码").fill(sms_code(app))
    page.get_by_role("button", name="登录", exact=True).click()

    page.wait_for_url("**/quotes/")
    assert page.get_by_role("button", name="退出").count() == 1
