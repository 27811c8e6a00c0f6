"""Paying an order with WeChat Pay's QR code in real Chromium: the order page shows the code, the
payer confirms on the simulator's pay page (another browser, as a phone would be), and the
order page, polling, shows the order paid without a reload by hand."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import browser_sign_in

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from wechatpay_support import *  # noqa: F403 - the fixtures app_config, pay_keys, paysim, paysim_server
from wechatpay_support import make_order

from xometry_site.models import Order, Payment

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_native_payment_from_the_order_page_to_paid(
    app, db, browser, live_server, make_user, paysim, tmp_path
):
    customer = make_user(preferred_language="zh_CN")
    order = make_order(db, customer)
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale="zh-CN",
        extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"},
        base_url=live_server.url,
    )
    phone = browser.new_context(viewport={"width": 375, "height": 812}, is_mobile=True)
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        browser_sign_in(page, customer.email)
        page.goto(f"/orders/{order.number}")
        page.locator("#wechat-pay").click()

        page.wait_for_url(f"**/orders/{order.number}/pay/wechat")
        qr = page.locator("#wechat-qr svg")
        assert qr.is_visible() and qr.bounding_box()["width"] >= 200
        assert "¥1,130.00" in page.locator("#wechat-pay-amount").inner_text()
        assert "扫一扫" in page.locator("#wechat-qr figcaption").inner_text()
        code_url = page.locator("#wechat-qr").get_attribute("data-code-url")
        assert code_url.startswith(paysim.base_url)
        page.screenshot(path=str(tmp_path / "wechat-pay.png"))

        payer = phone.new_page()
        payer.goto(code_url)
        assert "¥1130.00" in payer.locator("#amount").inner_text()
        payer.locator("#confirm-payment").click()
        payer.wait_for_load_state()
        assert "支付成功" in payer.locator("#result").inner_text()

        # nobody touches the order page: its polling moves it on
        page.wait_for_url(f"**/orders/{order.number}", timeout=20000)
        assert "已付款" in page.locator("h1 .status").inner_text()
        assert page.locator("#pay").count() == 0
    finally:
        phone.close()
        context.close()
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.status == "paid"
    assert [p.status for p in db.session.scalars(db.select(Payment))] == ["succeeded"]


BRIDGE = """
window.__payRequests = [];
window.WeixinJSBridge = {
  invoke: function (name, params, done) {
    window.__payRequests.push({name: name, params: params});
    done({err_msg: "get_brand_wcpay_request:ok"});
  }
};
"""
WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36 MicroMessenger/8.0.47.2560(0x28002F35) WeChat/arm64"
)


def test_inside_wechat_the_page_opens_wechats_payment_and_waits_for_the_notification(
    app, db, browser, live_server, make_user, paysim
):
    from wechatpay_support import APPID

    from xometry_site.models import WeChatIdentity

    customer = make_user(preferred_language="zh_CN")
    db.session.add(WeChatIdentity(user_id=customer.id, appid=APPID, openid="oBrowserPayer0001"))
    db.session.commit()
    order = make_order(db, customer)
    context = browser.new_context(
        viewport={"width": 375, "height": 812},
        is_mobile=True,
        user_agent=WECHAT_UA,
        locale="zh-CN",
        extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"},
        base_url=live_server.url,
    )
    context.add_init_script(BRIDGE)  # WeChat's browser provides WeixinJSBridge
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        browser_sign_in(page, customer.email)
        page.goto(f"/orders/{order.number}")
        page.locator("#wechat-pay").click()
        page.wait_for_url(f"**/orders/{order.number}/pay/wechat")

        requests_made = page.wait_for_function(
            "window.__payRequests.length > 0 && window.__payRequests"
        )
        (request,) = requests_made.json_value()
        assert request["name"] == "getBrandWCPayRequest"
        assert request["params"]["appId"] == APPID and request["params"]["signType"] == "RSA"
        assert request["params"]["package"].startswith("prepay_id=")
        assert "正在与微信支付确认" in page.locator("#wechat-jsapi-message").inner_text()
        db.session.expire_all()
        assert db.session.get(Order, order.id).status == "awaiting_payment"  # not on its word
        payment = db.session.scalars(db.select(Payment)).one()
        assert paysim.pay(payment.out_trade_no).answer_status == 204
        page.wait_for_url(f"**/orders/{order.number}", timeout=20000)
        assert "已付款" in page.locator("h1 .status").inner_text()
    finally:
        context.close()
