"""Throttles on the WeChat phone form, with the limiter on as in production: per number, per IP."""

from __future__ import annotations

import pytest
from wechat_support import *  # noqa: F403 - the fixtures app_config, sim, sim_server
from wechat_support import (
    PHONE,
    complete,
    last_code,
    scan,
    send_code,
    sms_lines,
    wechat_settings,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def app_config(sim) -> dict:
    return {**wechat_settings(sim), "RATELIMIT_ENABLED": True}


@pytest.fixture
def waiting(client, sim):
    answer = scan(client, "zhangwei")
    assert answer.headers["Location"].endswith("/auth/wechat/complete")
    return client


def test_one_code_per_minute_per_number(app, waiting):
    assert send_code(waiting).status_code == 302
    response = send_code(waiting, "139 1234 5678")  # the same number typed differently
    assert response.status_code == 429
    assert "尝试次数过多" in response.get_data(as_text=True)
    assert send_code(waiting, "+8613800000001").status_code == 302  # another number is fine
    assert len(sms_lines(app)) == 2


def test_codes_per_ip_are_limited(app, waiting):
    app.config["SMS_LIMIT_PER_IP"] = "3 per hour"
    for i in range(3):
        assert send_code(waiting, f"+86138000000{i:02d}").status_code == 302
    assert send_code(waiting, "+8613800000099").status_code == 429
    assert len(sms_lines(app)) == 3


def test_code_guesses_per_ip_are_limited(app, waiting):
    app.config["WECHAT_COMPLETE_LIMIT"] = "3 per 10 minutes"
    send_code(waiting)
    for _ in range(3):
        assert complete(waiting, "000000").status_code == 400
    assert complete(waiting, last_code(app)).status_code == 429
    assert waiting.get("/auth/wechat/complete").status_code == 200  # reading is not limited


def test_refused_numbers_do_not_use_up_a_numbers_allowance(app, waiting):
    """Only a text actually sent counts per number (every try still counts per IP)."""
    app.config["SMS_LIMIT_PER_IP"] = "100 per hour"
    for _ in range(3):
        assert send_code(waiting, "12345").status_code == 400
    assert send_code(waiting, PHONE).status_code == 302
