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
