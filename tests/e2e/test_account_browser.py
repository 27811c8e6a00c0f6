"""A buyer on a phone in Chinese keeps their Account Details: information, addresses (with and
without JavaScript), a corporate invoice profile, and English as their language."""

from __future__ import annotations

import pytest
from conftest import browser_sign_in, fits_the_phone

from xometry_site.extensions import db
from xometry_site.models import InvoiceProfile, ShippingAddress
from xometry_site.services.validators import uscc_check_character

pytestmark = [pytest.mark.browser, pytest.mark.slow]

USCC = "91310000MA1FL3LK1" + uscc_check_character("91310000MA1FL3LK1")
WRONG_USCC = USCC[:-1] + ("0" if USCC[-1] != "0" else "1")


def sign_in(page, user) -> None:
    browser_sign_in(page, user.email)
    assert page.get_by_role("link", name="账户详情").first.is_visible()


def fill_address(page, recipient: str, phone: str, street: str, postal_code: str) -> None:
    page.fill("input[name=organization]", "上海某某机械有限公司")
    page.fill("input[name=recipient]", recipient)
    page.fill("input[name=phone]", phone)
    page.fill("input[name=address]", street)
    page.fill("input[name=postal_code]", postal_code)


def test_phone_buyer_keeps_account_details(phone_page, browser, live_server, user):
    page = phone_page
    sign_in(page, user)

    # account information
    page.get_by_role("link", name="账户详情").first.click()
    page.wait_for_url("**/account")
    assert page.locator("h1").inner_text() == "账户详情"
    assert fits_the_phone(page)
    page.get_by_role("link", name="编辑账户信息").click()
    page.fill("input[name=job_title]", "采购经理")
    page.select_option("select[name=customer_type]", "company")
    page.fill("input[name=invoice_email]", "fapiao@example.com")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url("**/account")
    assert page.get_by_text("账户信息已保存").is_visible()
    assert page.get_by_text("采购经理").is_visible()

    # first address without JavaScript: "update cities" re-renders the form, typed values kept
    no_js = browser.new_context(
        storage_state=page.context.storage_state(),
        java_script_enabled=False,
        viewport={"width": 375, "height": 812},
        locale="zh-CN",
        base_url=live_server.url,
    )
    plain = no_js.new_page()
    plain.goto("/account/addresses/new")
    fill_address(plain, "王小明", "13812345678", "南山区科技园1号", "518000")
    plain.select_option("select[name=province]", "440000")
    plain.get_by_role("button", name="更新地区列表").click()
    assert plain.input_value("input[name=recipient]") == "王小明"
    plain.select_option("select[name=city]", label="深圳市")
    plain.get_by_role("button", name="更新地区列表").click()
    plain.select_option("select[name=district]", label="南山区")
    plain.get_by_role("button", name="保存地址").click()
    plain.wait_for_url("**/account/addresses")
    assert plain.get_by_text("地址已保存").is_visible()
    no_js.close()

    # second address with JavaScript: the city menu fills itself, no button needed
    page.goto("/account/addresses/new")
    assert not page.get_by_role("button", name="更新地区列表").is_visible()
    fill_address(page, "李雷", "021-62345678", "西湖区文三路2号", "310000")
    page.select_option("select[name=province]", "330000")
    page.wait_for_selector("select[name=city] option[value='330100']", state="attached")
    page.select_option("select[name=city]", label="杭州市")
    page.wait_for_selector("select[name=district] option[value='330106']", state="attached")
    page.select_option("select[name=district]", label="西湖区")
    page.get_by_role("button", name="保存地址").click()
    page.wait_for_url("**/account/addresses")
    assert fits_the_phone(page)
    cards = page.locator(".address-card")
    assert cards.count() == 2
    default_card = page.locator(".address-card.is-default")
    assert "王小明" in default_card.inner_text() and "深圳市" in default_card.inner_text()

    # switch the default to the second address
    page.locator(".address-card", has_text="李雷").get_by_role("button", name="设为默认").click()
    page.wait_for_url("**/account/addresses")
    assert "李雷" in page.locator(".address-card.is-default").inner_text()
    assert "杭州市" in page.locator(".address-card.is-default").inner_text()
    db.session.expire_all()
    defaults = db.session.scalars(
        db.select(ShippingAddress.recipient).filter_by(user_id=user.id, is_default=True)
    ).all()
    assert defaults == ["李雷"]

    # corporate invoice: a wrong credit code is refused, the right one saved and shown masked
    page.goto("/account/invoice")
    page.check("input[name=kind][value=personal]")  # only the chosen type's fields are shown
    assert page.locator("input[name=name]").is_visible()
    assert not page.locator("input[name=company_name]").is_visible()
    assert not page.locator("input[name=bank_account]").is_visible()
    page.check("input[name=kind][value=corporate]")
    assert not page.locator("input[name=name]").is_visible()
    assert not page.locator("input[name=consent_sensitive]").is_visible()
    page.fill("input[name=company_name]", "上海某某机械有限公司")
    page.fill("input[name=tax_number]", WRONG_USCC)
    page.select_option("select[name=province]", "310000")
    page.wait_for_selector("select[name=city] option[value='310100']", state="attached")
    page.wait_for_selector("select[name=district] option[value='310109']", state="attached")
    page.select_option("select[name=district]", "310109")
    page.fill("input[name=address]", "黎阳路735号")
    page.fill("input[name=postal_code]", "200080")
    page.fill("input[name=bank_name]", "中国银行上海虹口支行")
    page.fill("input[name=bank_account]", "6222020200112233445")
    page.get_by_role("button", name="保存发票信息").click()
    error = page.locator("#tax_number-errors")
    assert "这不是有效的统一社会信用代码" in error.inner_text()
    assert page.input_value("input[name=company_name]") == "上海某某机械有限公司"
    page.fill("input[name=tax_number]", USCC)
    page.get_by_role("button", name="保存发票信息").click()
    page.wait_for_url("**/account")
    assert page.get_by_text("发票信息已保存").is_visible()
    invoice_section = page.locator("#invoice").inner_text()
    assert USCC not in invoice_section and USCC[-4:] in invoice_section
    assert "6222020200112233445" not in invoice_section
    db.session.expire_all()
    assert (
        db.session.scalar(db.select(InvoiceProfile.kind).filter_by(user_id=user.id)) == "corporate"
    )

    # English as the preferred language: the site switches at once
    page.get_by_role("link", name="编辑账户信息").click()
    page.select_option("select[name=preferred_language]", "en")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url("**/account")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Account Details"
    assert page.get_by_text("Your account information has been saved.").is_visible()
    page.goto("/account/addresses")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Hangzhou" in page.locator(".address-card.is-default").inner_text()
