"""Account information (policy 1.3 / 5.3 A(1)): only the name is required; language applies at once."""

from __future__ import annotations

from xometry_site.extensions import db
from xometry_site.models import User

VALID = {
    "name": "李雷",
    "job_title": "采购经理",
    "customer_type": "company",
    "invoice_email": "Invoices@Example.COM",
    "preferred_language": "zh_CN",
}


def test_profile_form_shows_current_values(client, make_user, login_as):
    user = make_user(job_title="工程师", invoice_email="fapiao@example.com")
    login_as(user)
    response = client.get("/account/profile")
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    for field in ("name", "job_title", "customer_type", "invoice_email", "preferred_language"):
        assert f'name="{field}"' in page
    assert 'value="工程师"' in page and 'value="fapiao@example.com"' in page


def test_saving_account_information(client, user, login_as):
    login_as(user)
    response = client.post("/account/profile", data=VALID)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    db.session.expire_all()
    saved = db.session.get(User, user.id)
    assert (saved.name, saved.job_title, saved.customer_type) == ("李雷", "采购经理", "company")
    assert saved.invoice_email == "invoices@example.com"
    assert saved.preferred_language == "zh_CN"
    assert "账户信息已保存" in client.get("/account").get_data(as_text=True)


def test_only_the_name_is_required(client, user, login_as):
    login_as(user)
    data = {"name": "韩梅梅", "job_title": "", "customer_type": "", "invoice_email": ""}
    assert (
        client.post("/account/profile", data={**data, "preferred_language": ""}).status_code == 302
    )
    db.session.expire_all()
    saved = db.session.get(User, user.id)
    assert saved.name == "韩梅梅"
    assert saved.job_title is None and saved.customer_type is None and saved.invoice_email is None


def test_bad_input_is_refused_beside_the_field_in_chinese_keeping_typed_values(
    client, user, login_as
):
    login_as(user)
    bad = {**VALID, "name": "  ", "invoice_email": "not-an-address", "job_title": "总监"}
    response = client.post("/account/profile", data=bad)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "请填写姓名" in page
    assert "请填写有效的电子邮箱地址" in page
    assert 'value="not-an-address"' in page and 'value="总监"' in page
    assert 'id="name-errors"' in page  # the message sits beside its field
    db.session.expire_all()
    assert db.session.get(User, user.id).name == user.name


def test_forged_choices_are_refused(client, user, login_as):
    login_as(user)
    response = client.post(
        "/account/profile", data={**VALID, "customer_type": "staff", "preferred_language": "fr"}
    )
    assert response.status_code == 200
    db.session.expire_all()
    saved = db.session.get(User, user.id)
    assert saved.customer_type == "company" and saved.preferred_language is None


def test_form_cannot_set_staff_flag_or_email(client, user, login_as):
    login_as(user)
    client.post("/account/profile", data={**VALID, "is_staff": "y", "email": "evil@example.com"})
    db.session.expire_all()
    saved = db.session.get(User, user.id)
    assert saved.is_staff is False and saved.email == user.email


def test_preferred_language_switches_the_site_at_once(client, user, login_as):
    login_as(user)
    # the language chosen by the switcher earlier in this session gives way to the new preference
    assert '<html lang="zh-CN">' in client.get("/account?lang=zh_CN").get_data(as_text=True)
    response = client.post(
        "/account/profile", data={**VALID, "preferred_language": "en"}, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Your account information has been saved." in page
    assert "Account Details" in page


def test_preferred_language_is_used_for_mail(client, user, login_as, mailbox):
    login_as(user)
    client.post("/account/profile", data={**VALID, "preferred_language": "en"})
    client.get("/?lang=zh_CN")  # the page language is Chinese again; the mail must not follow it
    response = client.post(
        "/account/password",
        data={
            "current_password": "correct horse battery staple",
            "new_password": "a brand new long passphrase",
            "new_password_confirm": "a brand new long passphrase",
        },
    )
    assert response.status_code == 302
    assert len(mailbox) == 1
    assert mailbox[0]["Subject"] == "Your password has been changed"
    assert "您" not in mailbox[0].get_body(("plain",)).get_content()
