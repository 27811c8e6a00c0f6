"""A phone visitor in Chinese: cookie banner, language switch, the policy from the footer."""

from __future__ import annotations

import pytest
from conftest import fits_the_phone

pytestmark = pytest.mark.browser


def test_phone_visitor_reads_the_policy(phone_page):
    page = phone_page
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    banner = page.locator("#cookie-banner")
    assert banner.is_visible()
    # the page fits a 375 px screen: nothing wider than the viewport
    assert fits_the_phone(page)

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


def test_policy_prints_without_site_chrome(browser, live_server):
    """The print stylesheet: the policy text only, no header, footer, navigation or banner."""
    context = browser.new_context(base_url=live_server.url, locale="zh-CN")
    page = context.new_page()
    page.goto("/policy")
    assert page.locator("header.site-header").is_visible()
    page.emulate_media(media="print")
    for selector in ("header.site-header", "footer.site-footer", "#cookie-banner"):
        assert not page.locator(selector).is_visible(), selector
    assert page.locator("#section-1").is_visible()
    assert page.locator("#appendix table").is_visible()
    colour = page.evaluate("getComputedStyle(document.body).color")
    assert colour in ("rgb(0, 0, 0)", "rgb(17, 17, 17)", "rgb(34, 34, 34)"), colour
    context.close()


def test_cookie_choice_keeps_the_visitor_on_the_page_they_were_reading(phone_page):
    page = phone_page
    page.goto("/policy?lang=en")
    with page.expect_navigation(url="**/policy?lang=en"):  # through POST /cookies and back
        page.locator("#cookie-banner").get_by_role("button", name="Necessary only").click()
    assert page.locator("#cookie-banner").count() == 0
    assert page.locator("h1").first.inner_text().strip()
