"""Guessing the current password on a stolen session is throttled per account (429)."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_config() -> dict:
    return {"RATELIMIT_ENABLED": True}


def test_wrong_current_passwords_are_throttled(client, user, login_as):
    login_as(user)
    data = {"current_password": "guess", "new_password": "x" * 12, "new_password_confirm": "x" * 12}
    statuses = [client.post("/account/password", data=data).status_code for _ in range(11)]
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429
    assert client.get("/account/password").status_code == 200  # reading the page is not limited
