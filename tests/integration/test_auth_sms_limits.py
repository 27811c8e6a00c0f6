"""Throttles on SMS codes, with the limiter on as in production: per number and per IP, for
sending and for entering codes, shared by every page that sends one."""

from __future__ import annotations

import pytest
from sms_support import PHONE, TYPED, ask_code, enter_code, last_code, proved, sms_lines, wrong

pytestmark = pytest.mark.slow

OTHER_IP = {"REMOTE_ADDR": "203.0.113.9"}


@pytest.fixture
def app_config() -> dict:
    return {"RATELIMIT_ENABLED": True}


def test_one_text_per_minute_per_number_however_it_is_typed(app, client):
    assert ask_code(client, TYPED).status_code == 302
    response = ask_code(app.test_client(), "+86 139-1234-5678")  # another browser, same number
    assert response.status_code == 429
    assert "尝试次数过多" in response.get_data(as_text=True)
    assert ask_code(client, "13700001111").status_code == 302  # another number is fine
    assert [line["to"] for line in sms_lines(app)] == [PHONE, "+8613700001111"]


def test_a_numbers_allowance_is_shared_with_the_other_pages_that_send_codes(
    app, client, make_user, login_as
):
    ask_code(app.test_client(), TYPED)
    login_as(make_user(phone=PHONE))  # unproved: the Personal Center may send it a code
    response = client.post("/account/phone", data={"phone": TYPED})
    assert response.status_code == 429
    assert len(sms_lines(app)) == 1


def test_sends_per_ip_are_limited(app, client):
    app.config["SMS_LIMIT_PER_IP"] = "3 per hour"
    for i in range(3):
        assert ask_code(client, f"+86138000000{i:02d}").status_code == 302
    assert ask_code(app.test_client(), "+8613800000099").status_code == 429  # any browser here
    other = app.test_client().post(
        "/login/sms", data={"phone": "+8613800000099"}, environ_base=OTHER_IP
    )
    assert other.status_code == 302  # another address still can
    assert len(sms_lines(app)) == 4


def test_refused_numbers_do_not_use_up_a_numbers_allowance(app, client):
    app.config["SMS_LIMIT_PER_IP"] = "100 per hour"
    for _ in range(3):
        assert ask_code(client, "12345").status_code == 400
    assert ask_code(client, TYPED).status_code == 302


def test_code_tries_per_ip_are_limited(app, client, make_user):
    app.config["SMS_CODE_LIMIT"] = "3 per 10 minutes"
    proved(make_user)
    ask_code(client)
    code = last_code(app)
    for _ in range(3):
        assert enter_code(client, wrong(code)).status_code == 400
    assert enter_code(client, code).status_code == 429  # even the right one, from here
    assert client.get("/login/sms").status_code == 200  # reading is not limited


def test_wrong_codes_per_number_are_limited_from_any_address(app, client, make_user):
    app.config["SMS_CODE_PHONE_LIMIT"] = "2 per hour"
    proved(make_user)
    ask_code(client)
    code = last_code(app)
    assert enter_code(client, wrong(code)).status_code == 400
    elsewhere = app.test_client()
    response = elsewhere.post(
        "/login/sms", data={"phone": PHONE, "code": wrong(code)}, environ_base=OTHER_IP
    )
    assert response.status_code == 400
    response = app.test_client().post(
        "/login/sms", data={"phone": PHONE, "code": code}, environ_base={"REMOTE_ADDR": "1.2.3.4"}
    )
    assert response.status_code == 429
    # another number's codes are not affected
    proved(make_user, phone="+8613700001111")
    ask_code(client, "13700001111")
    second = enter_code(client, last_code(app, "+8613700001111"), phone="+8613700001111")
    assert second.status_code == 302


def test_a_right_code_does_not_count_against_the_number(app, make_user):
    app.config["SMS_CODE_PHONE_LIMIT"] = "1 per hour"
    app.config["SMS_LIMIT_PER_PHONE"] = "10 per minute"
    proved(make_user)
    for _ in range(2):
        browser = app.test_client()
        ask_code(browser)
        assert enter_code(browser, last_code(app)).status_code == 302
