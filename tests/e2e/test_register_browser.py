"""A phone visitor in Chinese registers, verifies the address from the mail, signs out and in."""

from __future__ import annotations

import re

import pytest
from conftest import fits_the_phone, wait_for

pytestmark = pytest.mark.browser

EMAIL = "li.na@example.com"
PASSWORD = "蓝色的海 blue sea 2024"


def test_register_verify_sign_out_and_in_on_a_phone(phone_page, live_server, mailbox):
    page = phone_page
    page.goto("/register")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.get_by_role("button", name="仅必要 Cookie").click()
    assert fits_the_phone(page)

    page.fill('input[name="name"]', "李娜")
    page.fill('input[name="email"]', EMAIL)
    page.fill('input[name="phone"]', "139 1234 5678")
    page.select_option('select[name="customer_type"]', "individual")
    page.fill('input[name="password"]', PASSWORD)
    page.fill('input[name="password_confirm"]', PASSWORD + "!")
    page.check('input[name="accept_policy"]')
    page.get_by_role("button", name="注册", exact=True).click()

    # a mistake is explained next to its field, in Chinese; what was typed stays, passwords do not
    assert page.locator("#password_confirm-errors").inner_text().strip() == "两次输入的密码不一致。"
    assert "请确认您已年满 18 周岁" in page.locator("#confirm_adult-errors").inner_text()
    assert page.input_value('input[name="name"]') == "李娜"
    assert page.input_value('input[name="password"]') == ""
    page.fill('input[name="password"]', PASSWORD)
    page.fill('input[name="password_confirm"]', PASSWORD)
    page.check('input[name="confirm_adult"]')
    page.get_by_role("button", name="注册", exact=True).click()
    page.wait_for_url("**/register/done")
    assert page.locator("h1").inner_text().strip() == "请查收邮件"

    messages = wait_for(lambda: [m for m in mailbox if EMAIL in m["X-Envelope-To"]])
    assert messages, "no verification mail arrived"
    assert messages[0]["Subject"] == "请验证您的电子邮箱"
    body = messages[0].get_body(("plain",)).get_content()
    link = re.search(r"http://\S+/verify-email/\S+", body).group(0)
    assert link.startswith(live_server.url)

    page.goto(link)
    assert page.locator("h1").inner_text().strip() == "您的电子邮箱已验证"
    logout = page.locator('form[action="/logout"] button')
    assert logout.is_visible()  # signed in by the link, in the browser that registered

    logout.click()
    page.wait_for_load_state()
    assert "您已退出登录。" in page.locator(".flashes").inner_text()
    assert page.locator('form[action="/logout"]').count() == 0

    page.goto("/login")
    page.fill('input[name="email"]', EMAIL)
    page.fill('input[name="password"]', PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(r".*/account/?$"))
    assert page.locator('form[action="/logout"]').count() == 1
    assert page.locator(".verify-banner").count() == 0  # verified: no banner
