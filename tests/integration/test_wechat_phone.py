"""The first WeChat sign-in's phone form: SMS codes, their limits, and phones that have an account."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import pytest
from wechat_support import *  # noqa: F403 - the fixtures app_config, sim, sim_server
from wechat_support import (
    PHONE,
    complete,
    last_code,
    scan,
    send_code,
    sms_lines,
)

from xometry_site.models import Consent, PhoneVerification, User, WeChatIdentity
from xometry_site.models.base import utcnow
from xometry_site.services.accounts import phone_codes

pytestmark = pytest.mark.slow

SENT = []


class RecordingBackend:
    """A provider plugged in by dotted path (SMS_BACKEND), keeping what it was asked to send."""

    def __init__(self, config) -> None:
        self.signature = config["SITE_NAME"]

    def send(self, phone: str, text: str) -> None:
        SENT.append((phone, text, self.signature))


class BrokenBackend:
    def send(self, phone: str, text: str) -> None:
        raise ConnectionError("provider down")


BROKEN = BrokenBackend()


@pytest.fixture
def waiting(client, sim):
    """A visitor back from WeChat with a new identity, on the phone form."""
    answer = scan(client, "zhangwei")
    assert answer.headers["Location"].endswith("/auth/wechat/complete")
    return client


def users(db) -> int:
    return db.session.scalar(db.select(db.func.count(User.id)))


def age_codes(db, minutes: int) -> None:
    """Move every code's clock back, as if `minutes` had passed."""
    for row in db.session.scalars(db.select(PhoneVerification)):
        row.created_at -= timedelta(minutes=minutes)
        row.expires_at -= timedelta(minutes=minutes)
    db.session.commit()


def test_the_code_is_six_random_digits_stored_only_as_a_hash(app, db, waiting):
    response = send_code(waiting, "138 1234 5678")
    assert response.status_code == 302
    lines = sms_lines(app)
    assert [line["to"] for line in lines] == ["+8613812345678"]
    assert "【Xometry Asia】" in lines[0]["text"]  # in the visitor's language (Chinese)
    code = last_code(app, "+8613812345678")
    row = db.session.scalars(db.select(PhoneVerification)).one()
    assert row.phone == "+8613812345678" and row.code_hash != code
    assert re.fullmatch(r"[0-9a-f]{64}", row.code_hash)  # a keyed hash, never the digits
    assert row.expires_at - row.created_at == timedelta(minutes=10)
    assert len({phone_codes.new_code() for _ in range(50)}) > 40
    page = waiting.get("/auth/wechat/complete").get_data(as_text=True)
    assert 'value="+8613812345678"' in page  # the number is filled in again
    assert "10 分钟内有效" in page


def test_the_console_backend_logs_a_masked_number(app, waiting, caplog):
    caplog.set_level(logging.INFO, logger="xometry_site")
    send_code(waiting)
    assert "SMS to +86 139****5678" in caplog.text
    assert PHONE not in caplog.text


def test_a_wrong_phone_number_is_refused_before_sending(app, waiting):
    for wrong in ("12345", "010-12345678", "+1 415 555 0100", ""):
        response = send_code(waiting, wrong)
        assert response.status_code == 400
        assert "中国大陆手机号码" in response.get_data(as_text=True) or "请输入手机号码" in (
            response.get_data(as_text=True)
        )
    assert sms_lines(app) == []


def test_a_code_expires_after_ten_minutes(app, db, waiting):
    send_code(waiting)
    code = last_code(app)
    age_codes(db, 11)
    response = complete(waiting, code)
    assert response.status_code == 400
    assert "验证码已过期" in response.get_data(as_text=True)
    assert users(db) == 0


def test_five_wrong_codes_kill_the_code(app, db, waiting):
    send_code(waiting)
    code = last_code(app)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for left in (4, 3, 2, 1):
        page = complete(waiting, wrong).get_data(as_text=True)
        assert f"还可以尝试 {left} 次" in page
    assert "错误次数过多" in complete(waiting, wrong).get_data(as_text=True)
    response = complete(waiting, code)  # even the right code is dead now
    assert response.status_code == 400 and "错误次数过多" in response.get_data(as_text=True)
    assert users(db) == 0
    # a new code works
    send_code(waiting)
    assert complete(waiting, last_code(app)).status_code == 302
    assert users(db) == 1


def test_a_code_works_once_and_only_for_its_number(app, db, waiting):
    send_code(waiting)
    code = last_code(app)
    response = complete(waiting, code, phone="+8613912340000")
    assert response.status_code == 400 and "请先为此号码获取验证码" in response.get_data(
        as_text=True
    )
    assert complete(waiting, code).status_code == 302
    with pytest.raises(phone_codes.PhoneCodeError):
        phone_codes.verify(PHONE, code, purpose=phone_codes.SIGN_UP)


def test_a_new_code_replaces_the_old_one(app, waiting):
    send_code(waiting)
    first = last_code(app)
    send_code(waiting)
    second = last_code(app)
    if first != second:
        assert complete(waiting, first).status_code == 400
    assert complete(waiting, second).status_code == 302


def test_both_confirmations_are_required_and_unticked(app, db, waiting):
    page = waiting.get("/auth/wechat/complete").get_data(as_text=True)
    assert "checked" not in page
    send_code(waiting)
    code = last_code(app)
    response = complete(waiting, code, accept_policy="", confirm_adult="")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "请接受《个人信息保护政策》" in page and "请确认您已年满 18 周岁" in page
    assert users(db) == 0
    assert complete(waiting, code).status_code == 302  # the code was not spent on that try
    assert {c.kind for c in db.session.scalars(db.select(Consent))} == {"policy", "adult"}


def test_a_phone_of_another_account_is_never_merged(app, db, make_user, waiting):
    owner = make_user(phone=PHONE, phone_verified_at=utcnow())  # proved by its owner
    send_code(waiting)
    response = complete(waiting, last_code(app))
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "此手机号码已属于一个账户" in page and "绑定微信" in page
    assert users(db) == 1
    assert db.session.scalars(db.select(WeChatIdentity)).all() == []
    assert owner.wechat_identities == []
    with waiting.session_transaction() as session:
        assert "_user_id" not in session


def test_a_phone_only_typed_by_another_account_gives_way(app, db, make_user, waiting):
    """The proved owner signs up; the e-mail account that typed the number loses the claim."""
    typist = make_user(phone=PHONE)  # typed at e-mail registration, never proved
    send_code(waiting)
    response = complete(waiting, last_code(app))
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    owner = db.session.scalars(db.select(User).where(User.id != typist.id)).one()
    assert owner.phone == PHONE and owner.phone_verified_at is not None
    db.session.refresh(typist)
    assert typist.phone is None
    assert typist.email and typist.has_password  # nothing else of the typist's changes


def test_the_phone_form_needs_a_wechat_identity_first(client, db):
    response = client.get("/auth/wechat/complete")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    response = client.post("/auth/wechat/complete/send-code", data={"phone": PHONE})
    assert response.status_code == 302
    assert client.post("/auth/wechat/complete", data={"phone": PHONE}).status_code == 302


def test_the_waiting_identity_expires(app, waiting):
    with waiting.session_transaction() as session:
        session["wechat_pending"]["at"] -= 16 * 60
        session.modified = True
    assert waiting.get("/auth/wechat/complete").status_code == 302
    assert send_code(waiting).status_code == 302
    assert sms_lines(app) == []


def test_the_phone_form_is_not_cached(waiting):
    assert waiting.get("/auth/wechat/complete").headers["Cache-Control"] == "no-store"


def test_a_dotted_path_backend_is_used(app, waiting):
    SENT.clear()
    app.config["SMS_BACKEND"] = f"{__name__}:RecordingBackend"
    waiting.get("/auth/wechat/complete?lang=en")
    assert send_code(waiting).status_code == 302
    [(phone, text, signature)] = SENT
    assert phone == PHONE and signature == "Xometry Asia"
    assert "[Xometry Asia] Your verification code is" in text
    assert sms_lines(app) == []


def test_a_failing_provider_is_a_page_not_a_500(app, waiting):
    app.config["SMS_BACKEND"] = f"{__name__}.BROKEN"
    response = send_code(waiting)
    assert response.status_code == 503
    assert "无法发送短信" in response.get_data(as_text=True)


def test_the_console_backend_refuses_production(app):
    from xometry_site.services import sms

    app.config["APP_ENV"] = "production"
    with app.test_request_context(), pytest.raises(sms.SmsError):
        sms.send_code(PHONE, "123456", "zh_CN")
    assert json.dumps(sms_lines(app)) == "[]"


def test_code_rows_older_than_a_day_are_deleted(app, db, waiting):
    send_code(waiting)
    age_codes(db, 25 * 60)
    send_code(waiting, "+8613800000001")
    phones = db.session.scalars(db.select(PhoneVerification.phone)).all()
    assert phones == ["+8613800000001"]


def test_a_double_submit_signs_in_to_the_account_the_first_one_made(app, db, waiting):
    send_code(waiting)
    code = last_code(app)
    old_cookie = waiting.get_cookie("session").value
    assert complete(waiting, code).status_code == 302
    racer = app.test_client()  # the second click left with the old cookie
    racer.set_cookie("session", old_cookie)
    response = complete(racer, code)
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert users(db) == 1
    with racer.session_transaction() as session:
        assert session["_user_id"] == db.session.scalars(db.select(User)).one().get_id()


def test_a_closed_account_made_meanwhile_is_not_signed_in(app, db, waiting):
    send_code(waiting)
    old_cookie = waiting.get_cookie("session").value
    complete(waiting, last_code(app))
    user = db.session.scalars(db.select(User)).one()
    user.deregistered_at = user.created_at
    db.session.commit()
    racer = app.test_client()
    racer.set_cookie("session", old_cookie)
    assert racer.get("/auth/wechat/complete").status_code == 403
    with racer.session_transaction() as session:
        assert "_user_id" not in session and "wechat_pending" not in session
