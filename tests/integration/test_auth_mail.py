"""Account mail through a real SMTP server: recipient, language, subject, links that work."""

from __future__ import annotations

from auth_support import (
    NEW_PASSWORD,
    REGISTRATION,
    html_of,
    links_in,
    only_message_to,
    path_of,
    register,
    text_of,
)
from conftest import PASSWORD

from xometry_site.models import User
from xometry_site.services.accounts.password_reset import reset_token

ADDRESS = REGISTRATION["email"]


def test_chinese_visitor_gets_a_chinese_verification_mail_whose_link_works(client, db, mailbox):
    register(client)  # the default page language is Chinese
    message = only_message_to(mailbox, ADDRESS)
    assert message["To"] == ADDRESS
    assert message["Subject"] == "请验证您的电子邮箱"
    text, html = text_of(message), html_of(message)
    assert "感谢您注册 Xometry Asia" in text and "48 小时" in text
    assert '<html lang="zh-CN">' in html
    assert "个人信息保护政策" in html and 'href="http://localhost/policy"' in html
    link = next(u for u in links_in(message) if "/verify-email/" in u)
    assert link.startswith("http://localhost/verify-email/")  # from SITE_URL
    assert link in html
    assert client.get(path_of(link)).status_code == 200
    assert db.session.scalar(db.select(User)).is_verified


def test_english_visitor_gets_an_english_verification_mail(client, mailbox):
    register(client, lang="en")
    message = only_message_to(mailbox, ADDRESS)
    assert message["Subject"] == "Please verify your e-mail address"
    assert "Thank you for registering with Xometry Asia" in text_of(message)
    assert '<html lang="en">' in html_of(message)


def test_links_ignore_the_host_header(client, mailbox):
    client.post("/register", data=REGISTRATION, headers={"Host": "evil.example"})
    message = only_message_to(mailbox, ADDRESS)
    assert "evil.example" not in message.as_string()
    assert all(u.startswith("http://localhost/") for u in links_in(message))


def test_duplicate_notice_speaks_the_visitors_language(client, make_user, mailbox):
    make_user(email=ADDRESS)  # no preferred language: the page's
    register(client)
    message = only_message_to(mailbox, ADDRESS)
    assert message["Subject"] == "有人尝试用您的邮箱注册"
    paths = [path_of(u) for u in links_in(message)]
    assert "/login" in paths and "/password/forgot" in paths
    assert client.get("/password/forgot").status_code == 200


def test_reset_and_change_notice_in_english_for_an_english_account(client, db, make_user, mailbox):
    user = make_user(email="en@example.com", preferred_language="en")
    client.post("/password/forgot", data={"email": user.email})
    reset = only_message_to(mailbox, user.email)
    assert reset["Subject"] == "Choose a new password"
    assert "60 minutes" in text_of(reset)
    mailbox.clear()
    path = f"/password/reset/{reset_token(user)}"
    client.post(path, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    notice = only_message_to(mailbox, user.email)
    assert notice["Subject"] == "Your password has been changed"
    assert "signed out on every device" in text_of(notice)
    assert PASSWORD not in notice.as_string() and NEW_PASSWORD not in notice.as_string()
