"""The Mini Program's Personal Center and rights share the website's limits: password guesses,
copies of my data, choices of third-party consents and re-authentication are throttled per
account (429 with the API's error)."""

from __future__ import annotations

import pytest
from conftest import sign_in as website_sign_in
from test_mp_api import API, bearer, me, register
from test_mp_api_third_parties import seed_recipient
from wechat_support import *  # noqa: F403 - the fixtures sim, sim_server
from wechat_support import wechat_settings

from xometry_site.models import User


@pytest.fixture
def app_config(sim) -> dict:
    """The simulator's settings, with the limiter on."""
    return {**wechat_settings(sim), "RATELIMIT_ENABLED": True}


def test_password_guesses_count_with_the_websites(app, client, sim, db):
    tokens = register(client, sim)
    user = db.session.get(User, me(client, tokens).get_json()["id"])
    user.set_password("the account's own password")
    db.session.commit()
    guess = {"current_password": "guess", "new_password": "a brand new password"}
    statuses = [
        client.post(f"{API}/me/password", json=guess, headers=bearer(tokens)).status_code
        for _ in range(6)
    ]
    assert statuses == [422] * 6
    website = app.test_client()
    website_sign_in(website, user)
    data = {**guess, "new_password_confirm": guess["new_password"]}
    assert [website.post("/account/password", data=data).status_code for _ in range(4)] == [200] * 4
    throttled = client.post(f"{API}/me/password", json=guess, headers=bearer(tokens))
    assert throttled.status_code == 429
    assert throttled.get_json()["error"]["code"] == "rate_limited"


def test_ten_copies_a_day(client, sim):
    tokens = register(client, sim)
    statuses = [
        client.post(f"{API}/exports", headers=bearer(tokens)).status_code for _ in range(11)
    ]
    assert statuses == [202] * 10 + [429]


def test_deregistration_password_guesses_are_throttled(client, sim, db):
    tokens = register(client, sim)
    body = {"confirm": True, "password": "guess"}
    statuses = [
        client.post(f"{API}/deregistration", json=body, headers=bearer(tokens)).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [422] * 10 and statuses[10] == 429
    assert me(client, tokens).status_code == 200  # still an account


def test_third_party_consent_choices_count_with_the_websites(app, client, sim, db):
    """Thirty gives and withdrawals an hour per account, whichever channel makes them."""
    tokens = register(client, sim)
    user = db.session.get(User, me(client, tokens).get_json()["id"])
    lab = seed_recipient()
    path = f"{API}/consents/third-parties/{lab.id}"
    statuses = [
        client.post(path, json={"agree": True}, headers=bearer(tokens)).status_code
        for _ in range(10)
    ]
    statuses += [
        client.post(f"{path}/withdraw", headers=bearer(tokens)).status_code for _ in range(10)
    ]
    assert statuses == [200] * 20
    website = app.test_client()
    website_sign_in(website, user)
    data = {"recipient_id": lab.id, "decision": "give", "agree": "y"}
    page = "/privacy/consents/third-parties"
    assert [website.post(page, data=data).status_code for _ in range(10)] == [302] * 10
    assert website.post(page, data=data).status_code == 429
    throttled = client.post(f"{path}/withdraw", headers=bearer(tokens))
    assert throttled.status_code == 429
    assert throttled.get_json()["error"]["code"] == "rate_limited"
