"""Phones are proved: a number typed at e-mail registration is a claim until its code is entered
in the Personal Center; a claim never blocks the number's proved owner and opens nothing."""

from __future__ import annotations

import pytest
from sms_support import PHONE, TYPED, last_code, proved, signed_in_as, sms_lines, wrong
from sqlalchemy.exc import IntegrityError

from xometry_site.models import AuditEvent, PhoneVerification, User


def send(client, phone: str = TYPED):
    return client.post("/account/phone", data={"phone": phone})


def confirm(client, code: str, phone: str = PHONE):
    return client.post("/account/phone", data={"phone": phone, "code": code})


def account(db, user) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def test_an_email_registrant_confirms_the_phone_in_the_personal_center(
    app, db, client, make_user, login_as
):
    user = make_user(phone=PHONE)  # typed at registration, unproved
    login_as(user)
    overview = client.get("/account").get_data(as_text=True)
    assert "（未验证）" in overview and 'href="/account/phone"' in overview
    assert "验证我的手机号码" in overview
    page = client.get("/account/phone").get_data(as_text=True)
    assert "尚未验证" in page and f'value="{PHONE}"' in page  # filled in with the number given
    response = send(client)
    assert response.status_code == 302 and response.headers["Location"] == "/account/phone"
    assert [line["to"] for line in sms_lines(app)] == [PHONE]
    page = client.get("/account/phone").get_data(as_text=True)
    assert 'name="code"' in page and "+86 139 1234 5678" in page
    response = confirm(client, last_code(app))
    assert response.status_code == 302 and response.headers["Location"].startswith("/account")
    assert account(db, user).phone_verified_at is not None
    assert "（已验证）" in client.get("/account").get_data(as_text=True)
    assert db.session.scalar(
        db.select(AuditEvent).filter_by(subject_id=user.id, action="account.phone_proved")
    )
    assert db.session.scalar(db.select(PhoneVerification.purpose)) == "prove"
    # from now on the number signs in
    browser = app.test_client()
    browser.post("/login/sms", data={"phone": PHONE})
    assert (
        browser.post("/login/sms", data={"phone": PHONE, "code": last_code(app)}).status_code == 302
    )
    assert signed_in_as(browser) == account(db, user).get_id()


def test_confirming_takes_the_number_from_unproved_claims(app, db, client, make_user, login_as):
    typist = make_user(phone=PHONE)  # someone else typed this number at registration
    user = make_user(phone=None)
    login_as(user)
    send(client)
    confirm(client, last_code(app))
    assert account(db, user).phone == PHONE and account(db, user).has_proved_phone
    assert account(db, typist).phone is None  # the unproved claim lost
    assert db.session.scalar(
        db.select(AuditEvent).filter_by(subject_id=typist.id, action="account.phone_claim_dropped")
    )


def test_a_wrong_code_changes_nothing(app, db, client, make_user, login_as):
    user = make_user(phone=PHONE)
    login_as(user)
    send(client)
    response = confirm(client, wrong(last_code(app)))
    assert response.status_code == 400 and "验证码不正确" in response.get_data(as_text=True)
    assert account(db, user).phone_verified_at is None


def test_a_number_another_account_proved_is_refused_only_after_the_code(
    app, db, client, make_user, login_as
):
    owner = proved(make_user)
    user = make_user(phone="+8613700001111")
    login_as(user)
    response = send(client)  # the same answer as for any number: a code is sent
    assert response.status_code == 302 and [line["to"] for line in sms_lines(app)] == [PHONE]
    response = confirm(client, last_code(app), phone=PHONE)
    assert response.status_code == 409
    assert "此号码已由另一个账户验证" in response.get_data(as_text=True)
    assert account(db, user).phone == "+8613700001111"
    assert account(db, owner).phone == PHONE and account(db, owner).has_proved_phone


def test_a_new_number_replaces_the_old_one_once_proved(app, db, client, make_user, login_as):
    user = proved(make_user)
    login_as(user)
    page = client.get("/account/phone?lang=en").get_data(as_text=True)
    assert "Your confirmed number is +86 139 1234 5678" in page
    send(client, "137 0000 1111")
    assert account(db, user).phone == PHONE  # nothing changes before the code
    confirm(client, last_code(app, "+8613700001111"), phone="+8613700001111")
    assert account(db, user).phone == "+8613700001111" and account(db, user).has_proved_phone


def test_the_confirmed_number_needs_no_new_code(app, client, make_user, login_as):
    login_as(proved(make_user))
    response = send(client)
    assert response.status_code == 302 and sms_lines(app) == []


def test_the_page_asks_for_a_recent_proof_first(client, make_user, login_as):
    login_as(make_user(phone=PHONE), fresh=False)
    response = client.get("/account/phone")
    assert response.status_code == 302 and "/reauthenticate" in response.headers["Location"]
    assert send(client).status_code == 302
    assert "/reauthenticate" in send(client).headers["Location"]


def test_the_page_is_private(client, make_user, login_as):
    assert client.get("/account/phone").status_code == 302  # to sign in
    login_as(make_user())
    assert client.get("/account/phone").headers["Cache-Control"] == "no-store"


def test_the_database_keeps_one_proved_owner_per_number(db, make_user):
    make_user(phone=PHONE)
    make_user(phone=PHONE)  # claims may repeat: registering reveals nothing
    proved(make_user)
    with pytest.raises(IntegrityError):
        proved(make_user)
    db.session.rollback()
