"""On a phone, the province → city → district menus fill each other in both languages, hide the
district menu for a city that has none, and an old address without a district gets one before an
order is placed."""

from __future__ import annotations

import pytest
from conftest import browser_sign_in, fits_the_phone

from xometry_site.extensions import db
from xometry_site.models import ShippingAddress

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def district_options(page) -> list[str]:
    return page.locator("select[name=district] option").evaluate_all(
        "options => options.map(o => o.value).filter(Boolean)"
    )


def test_district_menu_follows_the_city_on_a_phone(phone_page, live_server, user):
    page = phone_page
    old = ShippingAddress(
        user_id=user.id,
        recipient="王老地址",
        address="黎阳路1号",
        phone="+8613812345678",
        province="310000",
        city="310100",
        postal_code="200080",
        is_default=True,
    )
    db.session.add(old)
    db.session.commit()
    browser_sign_in(page, user.email)

    # the old address is listed, with a note that its district is missing
    page.goto("/account/addresses")
    card = page.locator(".address-card", has_text="王老地址")
    assert "缺少区县" in card.inner_text()
    assert fits_the_phone(page)

    # a new address: Guangdong → Shenzhen lists Shenzhen's districts only
    page.goto("/account/addresses/new")
    page.select_option("select[name=province]", "440000")
    page.wait_for_selector("select[name=city] option[value='440300']", state="attached")
    page.select_option("select[name=city]", "440300")
    page.wait_for_selector("select[name=district] option[value='440305']", state="attached")
    options = district_options(page)
    assert "440305" in options and all(code.startswith("4403") for code in options)
    assert page.locator("select[name=district]").is_visible()
    # Dongguan has no districts: the menu goes away; back to Shenzhen, it returns
    page.select_option("select[name=city]", "441900")
    page.wait_for_function("() => document.querySelector('[data-district-row]').hidden === true")
    assert not page.locator("select[name=district]").is_visible()
    page.select_option("select[name=city]", "440300")
    page.wait_for_selector("select[name=district] option[value='440305']", state="attached")
    assert page.locator("select[name=district]").is_visible()
    # a municipality chooses its only city itself and lists its districts at once
    page.select_option("select[name=province]", "310000")
    page.wait_for_selector("select[name=district] option[value='310115']", state="attached")
    assert page.input_value("select[name=city]") == "310100"
    assert page.locator("select[name=district] option[value='310115']").inner_text() == "浦东新区"
    assert fits_the_phone(page)

    # the old address gets its district through the edit form
    page.goto(f"/account/addresses/{old.id}/edit")
    assert "此地址尚未填写区县" in page.locator(".missing-district").inner_text()
    page.select_option("select[name=district]", label="虹口区")
    page.get_by_role("button", name="保存地址").click()
    page.wait_for_url("**/account/addresses")
    assert "缺少区县" not in page.locator(".address-card", has_text="王老地址").inner_text()
    db.session.expire_all()
    assert db.session.get(ShippingAddress, old.id).district == "310109"

    # in English the menus speak English
    page.goto("/account/addresses/new?lang=en")
    page.select_option("select[name=province]", "110000")
    page.wait_for_selector("select[name=district] option[value='110108']", state="attached")
    assert page.locator("select[name=district] option[value='110108']").inner_text() == (
        "Haidian District"
    )
    assert fits_the_phone(page)
