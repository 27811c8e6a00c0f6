"""Signing in during deregistration's cooling-off: once the password (or the phone's code) proved
who it is, the page says the account is closing, on which date, and how to keep it."""

from __future__ import annotations

import time
from datetime import timedelta

from auth_support import without_csrf
from conftest import PASSWORD
from sms_support import PHONE, last_code, proved, signed_in_as

from xometry_site.models import AuditEvent, User
from xometry_site.models.base import utcnow
from xometry_site.services.privacy import erasure
from xometry_site.services.working_days import CHINA_TIME

GENERIC_EN = "The e-mail address or the password is not correct."


def closed(db, user) -> User:
    """Deregister the account as /privacy/deregister does; returns it fresh from the database."""
    erasure.deregister(user)
    db.session.expire_all()
    return db.session.get(User, user.id)


def sign_in(client, email: str, password: str = PASSWORD, lang: str = "en"):
    return client.post(f"/login?lang={lang}", data={"email": email, "password": password})


def test_the_right_password_hears_that_the_account_is_closing(client, db, user):
    account = closed(db, user)
    response = sign_in(client, user.email)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Your account is closing" in page and GENERIC_EN not in page
    day = account.erase_after.astimezone(CHINA_TIME)
    assert f"{day:%b} {day.day}, {day.year}" in page  # the erasure date, in China's time
    assert "open the link in the e-mail we sent you" in page
    assert 'action="/login/keep"' in page and "Keep my account" in page
    assert signed_in_as(client) is None


def test_the_page_speaks_chinese_too(client, db, user):
    account = closed(db, user)
    page = sign_in(client, user.email, lang="zh_CN").get_data(as_text=True)
    day = account.erase_after.astimezone(CHINA_TIME)
    assert "您的账户正在注销中" in page and f"{day.year}年{day.month}月{day.day}日" in page
    assert "保留我的账户" in page


def test_a_wrong_password_still_says_only_wrong_password(app, client, db, user):
    closed(db, user)
    closing = sign_in(client, user.email, "not the password")
    assert GENERIC_EN in closing.get_data(as_text=True)
    assert "closing" not in closing.get_data(as_text=True)
    unknown = sign_in(app.test_client(), "nobody@example.com", "not the password")
    assert without_csrf(closing).replace(user.email, "") == without_csrf(unknown).replace(
        "nobody@example.com", ""
    )


def test_keep_my_account_cancels_the_deregistration_and_signs_in(app, client, db, user):
    closed(db, user)
    sign_in(client, user.email)
    response = client.post("/login/keep")
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    account = db.session.get(User, user.id)
    db.session.refresh(account)
    assert account.deregistered_at is None and account.erase_after is None
    assert signed_in_as(client) == account.get_id()
    assert "nothing was erased" in client.get("/account?lang=en").get_data(as_text=True)
    assert db.session.scalar(
        db.select(AuditEvent).filter_by(
            subject_id=user.id, action="account.deregistration_cancelled"
        )
    )


def test_the_keep_button_needs_the_proved_sign_in(app, client, db, user):
    closed(db, user)
    response = app.test_client().post("/login/keep")  # no sign-in proved in this browser
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    sign_in(client, user.email, "not the password")
    client.post("/login/keep")
    db.session.expire_all()
    assert db.session.get(User, user.id).deregistered_at is not None
    assert signed_in_as(client) is None


def test_the_keep_button_works_for_a_few_minutes_only(client, db, user):
    closed(db, user)
    sign_in(client, user.email)
    with client.session_transaction() as session:
        session["closing_account"]["at"] = int(time.time()) - 11 * 60
        session.modified = True
    client.post("/login/keep")
    db.session.expire_all()
    assert db.session.get(User, user.id).deregistered_at is not None


def test_a_note_from_an_earlier_deregistration_keeps_nothing(client, db, user):
    closed(db, user)
    sign_in(client, user.email)
    account = db.session.get(User, user.id)
    erasure.cancel_deregistration(account)
    account.deregistered_at = utcnow() + timedelta(seconds=5)  # closed again since
    account.erase_after = utcnow() + timedelta(days=7)
    db.session.commit()
    client.post("/login/keep")
    db.session.expire_all()
    assert db.session.get(User, user.id).deregistered_at is not None


def test_past_the_cooling_off_it_is_a_plain_refusal(client, db, user):
    account = closed(db, user)
    account.erase_after = utcnow() - timedelta(minutes=1)
    db.session.commit()
    page = sign_in(client, user.email).get_data(as_text=True)
    assert GENERIC_EN in page and "closing" not in page


def test_a_wechat_customer_keeps_the_account_after_an_sms_code(app, client, db, make_user):
    """No e-mail, so no mail with a link: the code proves who it is, the button keeps it."""
    user = proved(make_user, email=None, password=None)
    closed(db, user)
    client.post("/login/sms", data={"phone": PHONE})
    response = client.post("/login/sms?lang=en", data={"phone": PHONE, "code": last_code(app)})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Your account is closing" in page and "link in the e-mail" not in page
    assert client.post("/login/keep").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).deregistered_at is None
    assert signed_in_as(client) == db.session.get(User, user.id).get_id()


def test_the_closed_page_tells_a_wechat_customer_how_to_keep_it(client, db, make_user, login_as):
    user = proved(make_user, email=None, password=None)
    login_as(user)
    page = client.post("/privacy/deregister?lang=en", data={"confirm": "y"}).get_data(as_text=True)
    assert "Your account is closed" in page
    assert "The e-mail we have just sent you" not in page
    assert "signing in again before then" in page
