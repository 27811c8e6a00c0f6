"""A buyer on a phone sees the unread count in the header, opens the inbox, and it fits 375 px."""

from __future__ import annotations

import pytest
from conftest import browser_sign_in, fits_the_phone

from xometry_site.extensions import db
from xometry_site.services.notifications import notify

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_phone_buyer_reads_the_inbox(phone_page, live_server, user):
    number = "XA-2026-000123"
    notify(
        user,
        "shipped",
        f"/orders/{number}",
        number=number,
        carrier="deppon",
        tracking_number="DPK" + "1234567890" * 3,  # a long number still wraps inside the screen
    )
    notify(user, "payment_received", f"/orders/{number}", number=number, amount="123456.78")
    db.session.commit()
    page = phone_page
    browser_sign_in(page, user.email)

    inbox_link = page.locator("a.nav-inbox")
    assert inbox_link.locator(".nav-count").inner_text() == "2"
    assert fits_the_phone(page)
    inbox_link.click()
    page.wait_for_url("**/account/notifications")
    assert page.locator("h1").inner_text() == "消息"
    assert page.locator(".inbox-item.is-unread").count() == 2
    titles = page.locator(".inbox-title").all_inner_texts()
    assert titles == [f"已收到订单 {number} 的付款", f"订单 {number} 已发货"]
    assert page.get_by_text("德邦快递").is_visible()
    assert page.get_by_text("绝不用于营销").first.is_visible()
    assert fits_the_phone(page)
    assert page.locator("a.nav-inbox .nav-count").count() == 0  # read now

    page.reload()
    assert page.locator(".inbox-item.is-unread").count() == 0
    page.goto("/account")
    assert page.get_by_text("没有未读消息。").is_visible()
    assert fits_the_phone(page)
