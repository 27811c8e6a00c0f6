"""Account Details overview: signed-in only, never cached, every section, sensitive values masked."""

from __future__ import annotations

from xometry_site.extensions import db
from xometry_site.models import InvoiceProfile, ShippingAddress
from xometry_site.services.validators import uscc_check_character

USCC = "91310000MA1FL3LK1" + uscc_check_character("91310000MA1FL3LK1")


def test_account_pages_need_sign_in(client):
    for path in (
        "/account",
        "/account/profile",
        "/account/password",
        "/account/addresses",
        "/account/addresses/new",
        "/account/invoice",
        "/account/subscriptions",
        "/account/email",
    ):
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/login" in response.headers["Location"], path


def test_overview_lists_every_section_with_edit_links_and_no_store(client, user, login_as):
    login_as(user)
    response = client.get("/account")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    for heading in ("账户信息", "密码", "收货地址", "发票信息", "邮件订阅", "微信绑定"):
        assert heading in page, heading
    for link in (
        "/account/profile",
        "/account/password",
        "/account/addresses",
        "/account/invoice",
        "/account/subscriptions",
        "/account/email",
    ):
        assert f'href="{link}"' in page, link
    assert user.name in page


def test_overview_masks_phone_tax_number_and_bank_account(client, user, login_as):
    db.session.add(
        InvoiceProfile(
            user_id=user.id,
            kind="corporate",
            company_name="上海某某机械有限公司",
            tax_number=USCC,
            bank_name="中国银行上海分行",
            bank_account="6222020200112233445",
        )
    )
    db.session.add(
        ShippingAddress(
            user_id=user.id,
            recipient="王小明",
            address="黎阳路735号",
            phone="+8613912345678",
            province="310000",
            city="310100",
            postal_code="200080",
            is_default=True,
        )
    )
    db.session.commit()
    login_as(user)
    page = client.get("/account").get_data(as_text=True)
    assert USCC not in page
    assert "*" * 14 + USCC[-4:] in page
    assert "6222020200112233445" not in page
    assert "3445" in page
    assert user.phone not in page and user.phone[-4:] in page
    assert "13912345678" not in page  # the default address's phone, masked too
    assert "王小明" in page and "上海市" in page
    assert "上海某某机械有限公司" in page


def test_wechat_link_only_when_the_binding_page_exists(app, client, user, login_as):
    login_as(user)
    page = client.get("/account").get_data(as_text=True)
    exists = any(rule.rule == "/account/wechat" for rule in app.url_map.iter_rules())
    assert ('href="/account/wechat"' in page) == exists
