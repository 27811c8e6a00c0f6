"""Registration by e-mail: the form, the account and consents it creates, and bad input."""

from __future__ import annotations

import logging

import pytest
from auth_support import (
    NEW_PASSWORD,
    REGISTRATION,
    only_message_to,
    register,
    text_of,
    without_csrf,
)
from conftest import free_port

from xometry_site.models import Consent, User
from xometry_site.services.privacy.consents import current_policy_edition


def test_form_has_every_field_with_boxes_unticked_and_the_policy_linked(client):
    response = client.get("/register?lang=en")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    for name in (*REGISTRATION, "subscribe"):
        assert f'name="{name}"' in page, name
    for box in ("accept_policy", "confirm_adult", "subscribe"):
        tag = page.split(f'id="{box}"')[0].rsplit("<input", 1)[1] + page.split(f'id="{box}"')[1]
        assert "checked" not in tag.split(">")[0], box
    assert 'href="/policy"' in page
    assert 'href="/policy#section-6"' in page
    for label in ("Company", "Individual", "Education / research", "Other"):
        assert f">{label}</option>" in page
    chinese = client.get("/register?lang=zh_CN").get_data(as_text=True)
    assert "个人信息保护政策" in chinese and "企业" in chinese


def test_registration_creates_an_unverified_account_with_consent_records(client, db, mailbox):
    response = register(
        client, environ_base={"REMOTE_ADDR": "203.0.113.7"}, email=" Zhang.Wei@Example.com"
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/register/done"
    done = client.get("/register/done").get_data(as_text=True)
    assert "请查收邮件" in done

    user = db.session.scalar(db.select(User))
    assert user.email == "zhang.wei@example.com"  # one spelling per address
    assert user.phone == "+8613912345678"  # E.164
    assert user.customer_type == "company"
    assert user.name == "张伟"
    assert user.preferred_language == "zh_CN"
    assert user.password_hash.startswith("$argon2id$")
    assert NEW_PASSWORD not in user.password_hash
    assert not user.is_verified
    records = db.session.scalars(db.select(Consent).filter_by(user_id=user.id)).all()
    assert sorted(c.kind for c in records) == ["adult", "policy"]
    for consent in records:
        assert consent.policy_edition == current_policy_edition()
        assert consent.ip_address == "203.0.113.7"
        assert consent.source == "register"
        assert consent.confirmed_at is not None
    message = only_message_to(mailbox, "zhang.wei@example.com")
    assert "/verify-email/" in text_of(message)


def test_registration_does_not_sign_in_before_the_address_is_proved(client):
    register(client)
    assert client.get("/reauthenticate").status_code == 302


def test_subscription_starts_unconfirmed_and_asks_for_confirmation(client, db, mailbox, app):
    register(client, subscribe="y")
    user = db.session.scalar(db.select(User))
    subscription = db.session.scalar(db.select(Consent).filter_by(kind="subscription"))
    assert subscription.user_id == user.id
    assert subscription.confirmed_at is None  # double opt-in
    assert subscription.source == "register"
    assert "account.confirm_subscription" in app.view_functions
    subjects = [m["Subject"] for m in mailbox]
    assert len(subjects) == 2  # verification + subscription confirmation
    confirm = [m for m in mailbox if "/account/subscriptions/confirm/" in text_of(m)]
    assert len(confirm) == 1


def test_no_subscription_unless_ticked(client, db):
    register(client)
    assert db.session.scalar(db.select(Consent).filter_by(kind="subscription")) is None


@pytest.mark.parametrize(
    "phone",
    ["13912345678", "+86 139 1234 5678", "0086-139-1234-5678", "８６１３９１２３４５６７８"],
)
def test_chinese_mobile_with_or_without_country_code(client, db, phone):
    response = register(client, phone=phone)
    assert response.status_code == 302
    assert db.session.scalar(db.select(User.phone)) == "+8613912345678"


def test_duplicate_email_answers_like_a_success_and_tells_the_owner(client, db, make_user, mailbox):
    owner = make_user(email="zhang.wei@example.com", preferred_language="en")
    fresh = register(client, email="someone.new@example.com", phone="13700001111")
    mailbox.clear()
    duplicate = register(client, email="ZHANG.WEI@example.com ", phone="13700002222")
    assert duplicate.status_code == fresh.status_code == 302
    assert duplicate.headers["Location"] == fresh.headers["Location"]
    assert db.session.scalar(db.select(db.func.count(User.id))) == 2
    message = only_message_to(mailbox, owner.email)
    assert message["Subject"] == "Someone tried to register with your address"
    body = text_of(message)
    assert "/login" in body and "/password/forgot" in body
    assert len(mailbox) == 1  # no verification mail for the address


def test_duplicate_email_still_validates_the_other_fields(client, make_user, mailbox):
    make_user(email="zhang.wei@example.com")
    response = register(client, phone="12345", lang="en")
    assert response.status_code == 200
    page = without_csrf(response)
    assert "Please enter a Chinese mobile number" in page
    # exactly the page an unknown address gets
    other = register(client, phone="12345", lang="en", email="nobody@example.com")
    same = without_csrf(other).replace("nobody@example.com", "zhang.wei@example.com")
    assert page == same
    assert mailbox == []


@pytest.mark.parametrize("holder", ["proved", "typed"])
def test_a_known_phone_gets_the_answer_an_unknown_one_gets(
    app, client, db, make_user, mailbox, holder
):
    """Registration says nothing about a number: it is kept unproved whoever else has it."""
    from xometry_site.models.base import utcnow

    fresh = register(app.test_client(), email="fresh@example.com", phone="137 0000 1111")
    fresh_mail = only_message_to(mailbox, "fresh@example.com")
    proof = {"phone_verified_at": utcnow()} if holder == "proved" else {}
    owner = make_user(phone="+8613912345678", **proof)
    mailbox.clear()
    response = register(client)
    assert response.status_code == fresh.status_code == 302
    assert response.headers["Location"] == fresh.headers["Location"]
    assert client.get(response.headers["Location"]).get_data(as_text=True) == app.test_client().get(
        fresh.headers["Location"]
    ).get_data(as_text=True)
    mail = only_message_to(mailbox, "zhang.wei@example.com")
    assert mail["Subject"] == fresh_mail["Subject"]
    assert len(mailbox) == 1  # the number's holder is not told either
    new = db.session.scalar(db.select(User).filter_by(email="zhang.wei@example.com"))
    assert new.phone == "+8613912345678" and new.phone_verified_at is None  # a claim
    db.session.refresh(owner)
    assert owner.phone == "+8613912345678"
    assert (owner.phone_verified_at is not None) == (holder == "proved")


BAD_INPUT = [
    ("email", {"email": "not-an-address"}, "Please enter a valid e-mail address"),
    ("email", {"email": "a@b@example.com"}, "Please enter a valid e-mail address"),
    ("email", {"email": "x" * 250 + "@example.com"}, "at most 254 characters"),
    ("email", {"email": ""}, "Please enter your e-mail address."),
    ("phone", {"phone": "12345"}, "Please enter a Chinese mobile number"),
    ("phone", {"phone": "010-12345678"}, "Please enter a Chinese mobile number"),  # landline
    ("phone", {"phone": "+1 415 555 0100"}, "Please enter a Chinese mobile number"),
    ("name", {"name": "名" * 101}, "Please use at most 100 characters."),
    ("name", {"name": "   "}, "Please enter your name."),
    ("customer_type", {"customer_type": "government"}, "Please choose a customer type."),
    ("accept_policy", {"accept_policy": None}, "please accept the Data Protection Policy"),
    ("confirm_adult", {"confirm_adult": None}, "Please confirm that you are 18 or older"),
    (
        "password_confirm",
        {"password_confirm": "something else entirely"},
        "The two passwords do not match.",
    ),
    (
        "password",
        {"password": "password123", "password_confirm": "password123"},
        "most common ones",
    ),
    (
        "password",
        {"password": "Qwerty123456", "password_confirm": "Qwerty123456"},
        "most common ones",
    ),
    ("password", {"password": "a1b2c3d", "password_confirm": "a1b2c3d"}, "at least 8 characters"),
    (
        "password",
        {"password": "zhang.wei@example.com", "password_confirm": "zhang.wei@example.com"},
        "Do not use your e-mail address or your name",
    ),
]


@pytest.mark.parametrize(
    ("field", "change", "message"),
    BAD_INPUT,
    ids=[f"{f}-{i}" for i, (f, _c, _m) in enumerate(BAD_INPUT)],
)
def test_bad_input_is_explained_next_to_the_field(client, db, mailbox, field, change, message):
    response = register(client, lang="en", **change)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    errors = page.split(f'id="{field}-errors"', 1)
    assert len(errors) == 2, f"no error list next to {field}"
    assert message in errors[1].split("</ul>", 1)[0]
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0
    assert mailbox == []
    # what was typed is kept, passwords never
    if field != "name":
        assert 'value="张伟"' in page
    assert NEW_PASSWORD not in page
    assert (change.get("password") or "\0") not in page.replace('value="zhang.wei@example.com"', "")


def test_errors_speak_chinese_on_a_chinese_page(client):
    page = register(client, accept_policy=None, phone="12345").get_data(as_text=True)
    assert "如需注册，请接受《个人信息保护政策》" in page
    assert "请输入中国大陆手机号码" in page


def test_a_long_password_is_accepted_whole(client, db):
    long_password = "长密码 " * 300  # 1200 characters
    response = register(
        client, password=long_password[:1024], password_confirm=long_password[:1024]
    )
    assert response.status_code == 302
    user = db.session.scalar(db.select(User))
    assert user.check_password(long_password[:1024])
    assert not user.check_password(long_password[:1023])
    too_long = register(
        client,
        lang="en",
        email="b@example.com",
        phone="13700003333",
        password="x" * 1025 + "y",
        password_confirm="x" * 1025 + "y",
    )
    assert "Use at most 1024 characters." in too_long.get_data(as_text=True)


@pytest.mark.parametrize("app_config", [{"SMTP_PORT": free_port()}])  # nothing listens there
def test_registration_succeeds_when_mail_cannot_be_sent(client, db, caplog):
    caplog.set_level(logging.INFO, logger="xometry_site")
    response = register(client)
    assert response.status_code == 302
    assert db.session.scalar(db.select(User.email)) == "zhang.wei@example.com"
    failures = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert failures, "the delivery failure must be logged"
    from xometry_site.models import OutboxMessage  # and the mail waits for its retry

    assert db.session.scalar(db.select(OutboxMessage.status)) == "pending"
    assert "zhang.wei@example.com" not in caplog.text
    assert "zhang.wei" not in caplog.text


def test_the_form_cannot_set_staff_or_verification(client, db):
    register(
        client,
        is_staff="y",
        email_verified_at="2020-01-01T00:00:00",
        phone_verified_at="2020-01-01T00:00:00",
        preferred_language="en",
        id="999",
    )
    user = db.session.scalar(db.select(User))
    assert not user.is_staff
    assert user.email_verified_at is None and user.phone_verified_at is None
    assert user.id != 999
    assert user.preferred_language == "zh_CN"  # the page's language, not a posted value
