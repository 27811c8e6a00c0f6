"""Throttles on the privacy center's expensive or mail-sending actions."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": True}


def test_copies_are_limited_per_account(client, user, login_as):
    login_as(user)
    codes = [client.post("/privacy/export", data={}).status_code for _ in range(11)]
    assert codes[:10] == [302] * 10
    assert codes[10] == 429


def test_visitor_requests_are_limited(client, mailbox):
    codes = [
        client.post(
            "/privacy/requests", data={"kind": "other", "email": f"v{i}@example.com"}
        ).status_code
        for i in range(6)
    ]
    assert codes[:5] == [302] * 5
    assert codes[5] == 429
    assert len(mailbox) == 5  # no sixth code mailed


def test_signed_in_requests_are_limited_per_account(client, user, login_as, mailbox):
    login_as(user)
    codes = [
        client.post("/privacy/requests", data={"kind": "question", "details": f"#{i}"}).status_code
        for i in range(21)
    ]
    assert codes[:20] == [302] * 20  # far more than the visitor limit of 5 an hour
    assert codes[20] == 429
