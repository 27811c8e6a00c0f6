"""A phone visitor in Chinese: cookie banner, language switch, the policy from the footer."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_phone_visitor_reads_the_policy(phone_page):
    page = phone_page
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    banner = page.locator("#cookie-banner")
    assert banner.is_visible()
    # the page fits a 375 px screen: nothing wider than the viewport
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    banner.get_by_role("button", name="仅必要 Cookie").click()
    assert page.locator("#cookie-banner").count() == 0
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies["cookie_consent"] == "necessary"
    assert "remember_token" not in cookies

    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("link", name="Request a quote").first.is_visible()

    page.locator("footer").get_by_role("link", name="Data Protection Policy").click()
    page.wait_for_url("**/policy")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").first.inner_text().strip()

    toc_link = page.locator("nav.policy-toc a[href='#appendix']")
    toc_link.click()
    page.wait_for_url("**/policy#appendix")
    appendix = page.locator("#appendix")
    assert appendix.is_visible()
    assert appendix.locator("table").count() >= 1
    # the anchor target scrolled into view
    box = appendix.bounding_box()
    assert box is not None and box["y"] < 812
