"""Re-authentication of an account without a password: a code to its proved phone (or WeChat),
so a customer who signed up with WeChat can reach invoice details, even inside WeChat's browser."""

from __future__ import annotations

import logging

import pytest
from sms_support import PHONE, last_code, proved, sms_lines, wrong

from xometry_site.models import InvoiceProfile, WeChatIdentity
from xometry_site.security import REAUTH_KEY

WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
)
IN_WECHAT = {"User-Agent": WECHAT_UA}
PERSONAL_INVOICE = {
    "kind": "personal",
    "name": "王小明",
    "tax_number": "",
    "province": "310000",
    "city": "310100",
    "district": "310109",
    "address": "黎阳路1号",
    "postal_code": "200080",
    "invoice_email": "me@example.com",
}


@pytest.fixture
def wechat_customer(db, make_user, login_as):
    """Signed up with WeChat: no e-mail, no password, a proved phone; signed in a while ago."""
    user = proved(make_user, email=None, password=None, email_verified_at=None)
    db.session.add(WeChatIdentity(user=user, appid="wx-site", openid="o-zhangwei"))
    db.session.commit()
    login_as(user, fresh=False)
    return user


def fresh(client) -> bool:
    with client.session_transaction() as session:
        return bool(session.get(REAUTH_KEY))


def test_a_wechat_customer_adds_invoice_details_inside_wechat(app, db, client, wechat_customer):
    """The old loop: WeChat's browser cannot scan a QR code, and there is no password to type."""
    response = client.get("/account/invoice", headers=IN_WECHAT)
    assert response.status_code == 302
    reauth = response.headers["Location"]
    assert reauth.startswith("/reauthenticate?next=")
    page = client.get(reauth, headers=IN_WECHAT).get_data(as_text=True)
    assert "+86 139****5678" in page and 'name="send_code"' in page
    assert "/auth/wechat/login" not in page  # no QR code in WeChat's browser without an OA
    sent = client.post(reauth, data={"send_code": "1"}, headers=IN_WECHAT)
    assert sent.status_code == 302 and sent.headers["Location"] == reauth
    page = client.get(reauth, headers=IN_WECHAT).get_data(as_text=True)
    assert 'name="code"' in page
    done = client.post(reauth, data={"code": last_code(app)}, headers=IN_WECHAT)
    assert done.status_code == 302 and done.headers["Location"] == "/account/invoice"
    assert fresh(client)
    assert client.get("/account/invoice", headers=IN_WECHAT).status_code == 200
    saved = client.post("/account/invoice", data=PERSONAL_INVOICE, headers=IN_WECHAT)
    assert saved.status_code == 302
    profile = db.session.scalar(db.select(InvoiceProfile).filter_by(user_id=wechat_customer.id))
    assert profile is not None and profile.name == "王小明"


def test_outside_wechat_both_ways_are_offered(client, wechat_customer):
    page = client.get("/reauthenticate?next=/account/invoice&lang=en").get_data(as_text=True)
    assert "With a code sent to your phone" in page
    assert 'href="/auth/wechat/login?next=%2Faccount%2Finvoice"' in page
    assert 'name="password"' not in page


def test_a_wrong_code_leaves_the_session_unconfirmed(app, client, wechat_customer):
    client.post("/reauthenticate", data={"send_code": "1"})
    response = client.post("/reauthenticate", data={"code": wrong(last_code(app))})
    assert response.status_code == 400
    assert "验证码不正确" in response.get_data(as_text=True)
    assert not fresh(client)
    assert client.get("/account/invoice").status_code == 302


def test_the_code_goes_to_the_accounts_own_number_only(app, client, wechat_customer):
    client.post("/reauthenticate", data={"send_code": "1", "phone": "+8613700001111"})
    assert [line["to"] for line in sms_lines(app)] == [PHONE]


def test_a_sign_in_code_does_not_confirm_and_a_reauth_code_does_not_sign_in(
    app, client, wechat_customer
):
    stranger = app.test_client()
    stranger.post("/login/sms", data={"phone": PHONE})
    sign_in_code = last_code(app)
    assert client.post("/reauthenticate", data={"code": sign_in_code}).status_code == 400
    client.post("/reauthenticate", data={"send_code": "1"})
    reauth_code = last_code(app)
    response = stranger.post("/login/sms", data={"phone": PHONE, "code": reauth_code})
    assert response.status_code == 400
    assert client.post("/reauthenticate", data={"code": reauth_code}).status_code == 302


def test_an_account_with_a_password_still_gives_its_password(client, make_user, login_as):
    login_as(proved(make_user), fresh=False)
    page = client.get("/reauthenticate").get_data(as_text=True)
    assert 'name="password"' in page and 'name="send_code"' not in page
    response = client.post("/reauthenticate", data={"send_code": "1"})
    assert response.status_code == 200 and 'name="password"' in response.get_data(as_text=True)


def test_no_password_no_proved_phone_no_wechat_points_to_a_password_by_mail(
    client, make_user, login_as
):
    login_as(make_user(password=None), fresh=False)  # its phone was only typed
    page = client.get("/reauthenticate?lang=en").get_data(as_text=True)
    assert "Set a password by e-mail" in page and 'name="send_code"' not in page


def test_logs_name_no_phone(app, client, wechat_customer, caplog):
    caplog.set_level(logging.INFO, logger="xometry_site")
    client.post("/reauthenticate", data={"send_code": "1"})
    client.post("/reauthenticate", data={"code": wrong(last_code(app))})
    assert "13912345678" not in caplog.text
    assert "auth.reauth_failed method=sms reason=wrong" in caplog.text
