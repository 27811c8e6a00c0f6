"""Signing in with an SMS code (/login/sms): phone, then code; the same answer for every number."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from auth_support import without_csrf
from sms_support import (
    PHONE,
    TYPED,
    ask_code,
    enter_code,
    last_code,
    proved,
    signed_in_as,
    sms_lines,
    texts_to,
    wrong,
)

from xometry_site.models import PhoneVerification, SignInEvent
from xometry_site.models.base import utcnow

UNKNOWN = "+8613700001111"
WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
)


def step_two_page(client, query: str = "") -> str:
    """The code step as the redirect after sending shows it, without the CSRF token."""
    return without_csrf(client.get("/login/sms" + query))


def typed_codes_out(page: str) -> str:
    """The page without the (wrong) code typed, which it shows again."""
    return re.sub(r'value="\d{6}"', 'value=""', page)


def test_a_proved_phone_signs_in_with_its_code(app, db, client, make_user):
    user = proved(make_user, password=None, email=None)
    page = client.get("/login/sms").get_data(as_text=True)
    assert 'name="phone"' in page and 'name="code"' not in page
    response = ask_code(client, query="?next=/quotes")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/sms?next=/quotes"
    page = client.get("/login/sms?next=/quotes").get_data(as_text=True)
    assert 'name="code"' in page and f'value="{PHONE}"' in page
    assert "已向 +86 139****5678 发送 6 位验证码" in page
    assert "【Xometry Asia】" in texts_to(app)[0]  # in the visitor's language
    response = enter_code(client, last_code(app), query="?next=/quotes")
    assert response.status_code == 302 and response.headers["Location"] == "/quotes"
    assert signed_in_as(client) == user.get_id()
    event = db.session.scalars(db.select(SignInEvent)).one()
    assert event.method == "sms" and event.user_id == user.id
    row = db.session.scalars(db.select(PhoneVerification)).one()
    assert row.purpose == "sign_in" and row.consumed_at is not None
    assert re.fullmatch(r"[0-9a-f]{64}", row.code_hash)  # never the digits


def test_the_code_signs_in_once(app, client, make_user):
    proved(make_user)
    ask_code(client)
    code = last_code(app)
    assert enter_code(client, code).status_code == 302
    other = app.test_client()
    response = enter_code(other, code)
    assert response.status_code == 400
    assert "请先为此号码获取验证码" in response.get_data(as_text=True)
    assert signed_in_as(other) is None


def test_an_unknown_number_gets_the_same_page_and_text(app, client, make_user):
    proved(make_user)
    known = ask_code(client, TYPED)
    known_page = step_two_page(client)
    stranger = app.test_client()
    unknown = ask_code(stranger, "137 0000 1111")
    unknown_page = step_two_page(stranger)
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    assert unknown_page == known_page.replace("139****5678", "137****1111").replace(
        PHONE, UNKNOWN
    ).replace("+86 139 1234 5678", "+86 137 0000 1111")
    texts = [line["text"] for line in sms_lines(app)]
    assert [line["to"] for line in sms_lines(app)] == [PHONE, UNKNOWN]
    assert re.sub(r"\d{6}", "######", texts[0]) == re.sub(r"\d{6}", "######", texts[1])
    # a wrong code reads the same too
    known_wrong = enter_code(client, wrong(last_code(app)))
    unknown_wrong = enter_code(stranger, wrong(last_code(app, UNKNOWN)), phone=UNKNOWN)
    assert known_wrong.status_code == unknown_wrong.status_code == 400
    assert "验证码不正确。您还可以尝试 4 次。" in known_wrong.get_data(as_text=True)
    assert typed_codes_out(without_csrf(unknown_wrong)).replace(UNKNOWN, PHONE).replace(
        "+86 137 0000 1111", "+86 139 1234 5678"
    ) == typed_codes_out(without_csrf(known_wrong))


def test_an_unknown_number_learns_there_is_no_account_only_with_its_code(app, client):
    ask_code(client, "137 0000 1111")
    response = enter_code(client, last_code(app, UNKNOWN), phone=UNKNOWN)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "没有账户使用此号码" in page and 'href="/register"' in page
    assert signed_in_as(client) is None


def test_an_unproved_number_signs_nobody_in(app, client, make_user):
    """A number only typed at e-mail registration may be anybody's: its holder gets no account."""
    make_user(phone=PHONE)  # unproved
    ask_code(client)
    response = enter_code(client, last_code(app))
    assert "没有账户使用此号码" in response.get_data(as_text=True)
    assert signed_in_as(client) is None


def test_the_proved_owner_signs_in_whoever_else_typed_the_number(app, client, make_user):
    make_user(phone=PHONE)  # typed at an e-mail registration, never proved
    owner = proved(make_user, phone=PHONE)
    make_user(phone=PHONE)
    ask_code(client)
    assert enter_code(client, last_code(app)).status_code == 302
    assert signed_in_as(client) == owner.get_id()


def test_five_wrong_codes_kill_the_code(app, client, make_user):
    proved(make_user)
    ask_code(client)
    code = last_code(app)
    for left in (4, 3, 2, 1):
        page = enter_code(client, wrong(code)).get_data(as_text=True)
        assert f"还可以尝试 {left} 次" in page
    assert "错误次数过多" in enter_code(client, wrong(code)).get_data(as_text=True)
    response = enter_code(client, code)
    assert response.status_code == 400 and "错误次数过多" in response.get_data(as_text=True)
    assert signed_in_as(client) is None


def test_a_code_expires_after_ten_minutes(app, db, client, make_user):
    proved(make_user)
    ask_code(client)
    for row in db.session.scalars(db.select(PhoneVerification)):
        row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = enter_code(client, last_code(app))
    assert response.status_code == 400 and "验证码已过期" in response.get_data(as_text=True)


def test_a_code_for_another_workflow_does_not_sign_in(app, client, make_user):
    """A code sent for a WeChat sign-up (or a re-authentication) is not a sign-in code."""
    from xometry_site.services.accounts import phone_codes

    proved(make_user)
    code = phone_codes.issue(PHONE, purpose=phone_codes.SIGN_UP)
    response = enter_code(client, code)
    assert response.status_code == 400 and "请先为此号码获取验证码" in response.get_data(
        as_text=True
    )
    ask_code(client)  # a sign-in code leaves the sign-up code usable
    phone_codes.verify(PHONE, code, purpose=phone_codes.SIGN_UP)


def test_bad_numbers_and_codes_are_explained_not_sent(app, client):
    for bad in ("12345", "010-12345678", "+1 415 555 0100", ""):
        response = client.post("/login/sms?lang=en", data={"phone": bad})
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert "Please enter a Chinese mobile number" in page or "Please enter your mobile" in page
    response = client.post("/login/sms?lang=en", data={"phone": PHONE, "code": "12ab"})
    assert response.status_code == 400 and "The code has 6 digits." in response.get_data(
        as_text=True
    )
    assert sms_lines(app) == []


def test_full_width_digits_from_a_chinese_keyboard_work(app, client, make_user):
    user = proved(make_user)
    ask_code(client, "１３９ １２３４ ５６７８")
    code = last_code(app).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert enter_code(client, code).status_code == 302
    assert signed_in_as(client) == user.get_id()


def test_a_closed_account_is_not_signed_in(app, db, client, make_user):
    user = proved(make_user)
    user.deregistered_at = user.erase_after = utcnow() - timedelta(days=1)  # past the cooling-off
    db.session.commit()
    ask_code(client)
    response = enter_code(client, last_code(app), query="?lang=en")
    assert response.status_code == 403
    assert "has been closed" in response.get_data(as_text=True)
    assert signed_in_as(client) is None


def test_the_sign_in_page_offers_sms_first_inside_wechat(client):
    page = client.get("/login", headers={"User-Agent": WECHAT_UA}).get_data(as_text=True)
    sms = page.index('href="/login/sms"')
    assert sms < page.index('name="email"')  # before the password form
    assert "正在微信中浏览" in page
    elsewhere = client.get("/login").get_data(as_text=True)
    assert 'href="/login/sms"' in elsewhere
    assert elsewhere.index('href="/login/sms"') > elsewhere.index('name="email"')


def test_wechats_open_in_browser_page_offers_sms(client):
    page = client.get("/auth/wechat/login?next=/quotes", headers={"User-Agent": WECHAT_UA})
    assert page.status_code == 200
    assert 'href="/login/sms?next=/quotes"' in page.get_data(as_text=True)


def test_logs_show_no_phone_number(app, client, make_user, caplog):
    caplog.set_level(logging.INFO, logger="xometry_site")
    proved(make_user)
    ask_code(client)
    enter_code(client, wrong(last_code(app)))
    enter_code(client, last_code(app))
    ask_code(client, "137 0000 1111")
    assert "13912345678" not in caplog.text and "13700001111" not in caplog.text
    assert "139****5678" in caplog.text  # masked, as everywhere


def test_the_pages_are_not_cached_and_signed_in_visitors_go_on(client, make_user, login_as):
    assert client.get("/login/sms").headers["Cache-Control"] == "no-store"
    login_as(make_user())
    response = client.get("/login/sms?next=/quotes")
    assert response.status_code == 302 and response.headers["Location"] == "/quotes"


def test_the_code_step_expires_with_its_code(client, make_user):
    proved(make_user)
    ask_code(client)
    with client.session_transaction() as session:
        session["sms_login"]["at"] -= 11 * 60
        session.modified = True
    assert 'name="code"' not in client.get("/login/sms").get_data(as_text=True)


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_both_languages(client, lang):
    page = client.get(f"/login/sms?lang={lang}").get_data(as_text=True)
    title = "Sign in with an SMS code" if lang == "en" else "短信验证码登录"
    assert f"<h1>{title}</h1>" in page


def test_every_new_form_needs_its_csrf_token(app, client, make_user, login_as):
    app.config["WTF_CSRF_ENABLED"] = True
    proved(make_user)
    visitor = app.test_client()
    assert visitor.post("/login/sms", data={"phone": PHONE}).status_code == 400
    assert visitor.post("/login/sms", data={"phone": PHONE, "code": "123456"}).status_code == 400
    assert visitor.post("/login/keep").status_code == 400
    login_as(make_user(password=None, phone="+8613700001111"))
    assert client.post("/account/phone", data={"phone": PHONE}).status_code == 400
    assert client.post("/reauthenticate", data={"send_code": "1"}).status_code == 400
    assert sms_lines(app) == []
    page = visitor.get("/login/sms").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    sent = visitor.post("/login/sms", data={"phone": PHONE, "csrf_token": token})
    assert sent.status_code == 302 and len(sms_lines(app)) == 1  # with it, the code goes
