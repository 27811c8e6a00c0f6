"""A staff member on a phone enrols an authenticator in Chromium (the QR code drawn within the
CSP), reaches the staff pages, and at the next sign-in gives a code before they open."""

from __future__ import annotations

import pytest
from conftest import PASSWORD, fits_the_phone, fresh_totp_code, totp_code

from xometry_site.extensions import db
from xometry_site.models import StaffSecondFactor

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _password(page, email: str) -> None:
    page.goto("/login")
    banner = page.locator("#cookie-banner")
    if banner.count():
        banner.get_by_role("button", name="仅必要 Cookie").click()
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form").filter(has=page.locator("input[name=password]")).locator(
        "button[type=submit]"
    ).first.click()
    page.wait_for_load_state()


def _submit_code(page, code: str) -> None:
    page.fill("input[name=code]", code)
    page.locator("form").filter(has=page.locator("input[name=code]")).locator(
        "button[type=submit]"
    ).click()
    page.wait_for_load_state()


def test_staff_enrol_then_give_a_code_at_each_sign_in(phone_page, make_user, tmp_path):
    staff = make_user(is_staff=True, preferred_language="zh_CN")
    page = phone_page
    blocked = []
    page.on(
        "console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None
    )

    _password(page, staff.email)
    assert page.url.endswith("/login/second-factor/enrol") or "/enrol?" in page.url
    assert page.locator("h1").inner_text() == "设置第二重验证"
    qr = page.locator("img.totp-qr")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")  # drawn, allowed by the CSP
    assert fits_the_phone(page)
    page.screenshot(path=str(tmp_path / "enrol.png"), full_page=True)
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    _submit_code(page, "000000")
    assert page.get_by_text("验证码不正确").is_visible()
    _submit_code(page, totp_code(secret))
    assert page.locator(".recovery-codes li").count() == 10
    page.locator("#continue-to-staff").click()
    page.wait_for_url("**/admin/")
    assert blocked == []

    # the next sign-in: the password alone does not open the staff pages
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_load_state()
    _password(page, staff.email)
    assert "/login/second-factor" in page.url and "enrol" not in page.url
    page.goto("/admin/requests")
    assert "/login/second-factor" in page.url
    factor = db.session.scalar(db.select(StaffSecondFactor).filter_by(user_id=staff.id))
    _submit_code(page, fresh_totp_code(factor))
    assert page.url.endswith("/admin/requests")
    assert page.locator("h1").inner_text() == "数据申请"
