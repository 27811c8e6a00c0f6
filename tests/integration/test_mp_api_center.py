"""The Mini Program's Personal Center edits: profile, password, invoice details and the newsletter
— signed in through the WeChat simulator, checked against the website (the rights are in
test_mp_api_rights.py, the shared limits in test_mp_api_center_limits.py)."""

from __future__ import annotations

from datetime import timedelta

from conftest import sign_in as website_sign_in
from test_mp_api import API, bearer, login_code, me, register
from wechat_support import *  # noqa: F403 - the fixtures app_config, sim, sim_server

from xometry_site.models import ApiSession, Consent, InvoiceProfile, User
from xometry_site.services.validators import uscc_check_character

EN = {"Accept-Language": "en"}
USCC = "91310000MA1FL3LK1" + uscc_check_character("91310000MA1FL3LK1")
ID_17 = "11010519491231002"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_NUMBER = (
    ID_17 + "10X98765432"[sum(int(d) * w for d, w in zip(ID_17, _WEIGHTS, strict=True)) % 11]
)
SPECIAL = {
    "kind": "corporate",
    "fapiao_type": "special",
    "company_name": "上海某某机械有限公司",
    "tax_number": USCC,
    "company_address": "上海市虹口区黎阳路735号",
    "company_phone": "021-62345678",
    "province": "310000",
    "city": "310100",
    "district": "310109",
    "address": "虹口区黎阳路735号",
    "postal_code": "200080",
    "bank_name": "中国银行上海虹口支行",
    "bank_account": "6222020200112233445",
    "invoice_email": "fapiao@example.com",
}


def account(db, client, tokens) -> User:
    return db.session.get(User, me(client, tokens).get_json()["id"])


def in_english(db, client, tokens) -> User:
    """The account chose English: its answers speak it whatever the phone's language."""
    user = account(db, client, tokens)
    user.preferred_language = "en"
    db.session.commit()
    return user


def age_sign_in(db, user: User, minutes: int = 30) -> None:
    """The device signed in long ago (a refresh proves nothing new)."""
    for row in db.session.scalars(db.select(ApiSession).filter_by(user_id=user.id)):
        row.created_at = row.created_at - timedelta(minutes=minutes)
    db.session.commit()


# --- profile ------------------------------------------------------------------------------------


def test_a_profile_edit_shows_on_the_websites_profile_page(app, client, sim, db):
    tokens = register(client, sim)
    answer = client.patch(
        f"{API}/me",
        json={"name": "王小明", "job_title": "采购经理", "preferred_language": "en"},
        headers=bearer(tokens),
    )
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["name"] == "王小明" and body["job_title"] == "采购经理"
    assert body["preferred_language"] == "en"
    kept = client.patch(f"{API}/me", json={"job_title": ""}, headers=bearer(tokens)).get_json()
    assert kept["name"] == "王小明" and kept["job_title"] is None  # left out: kept; blank: gone

    website = app.test_client()
    website_sign_in(website, account(db, client, tokens))
    page = website.get("/account/profile").get_data(as_text=True)
    assert 'value="王小明"' in page and '<option selected value="en">English</option>' in page


def test_a_profile_edit_is_refused_field_by_field_in_the_callers_language(client, sim, db):
    tokens = register(client, sim)
    in_english(db, client, tokens)
    answer = client.patch(
        f"{API}/me",
        json={"name": "", "invoice_email": "not-an-address", "preferred_language": "fr"},
        headers=bearer(tokens, **EN),
    )
    assert answer.status_code == 422
    fields = answer.get_json()["error"]["fields"]
    assert fields["name"] == "Please enter your name."
    assert fields["invoice_email"] == "Please enter a valid e-mail address."
    assert "preferred_language" in fields
    assert me(client, tokens).get_json()["name"] != ""


# --- password -----------------------------------------------------------------------------------


def test_a_first_password_needs_a_recent_sign_in_and_the_sites_rules(client, sim, db):
    tokens = register(client, sim)
    path = f"{API}/me/password"
    weak = client.post(path, json={"new_password": "password"}, headers=bearer(tokens, **EN))
    assert weak.status_code == 422
    assert "new_password" in weak.get_json()["error"]["fields"]
    short = client.post(path, json={"new_password": "abc"}, headers=bearer(tokens, **EN))
    assert short.status_code == 422

    user = account(db, client, tokens)
    age_sign_in(db, user)
    stale = client.post(
        path, json={"new_password": "tangerine velvet harbour"}, headers=bearer(tokens)
    )
    assert stale.status_code == 403 and stale.get_json()["error"]["code"] == "reauth_required"

    fresh = register_again(client, sim, user)
    assert (
        client.post(
            path, json={"new_password": "tangerine velvet harbour"}, headers=bearer(fresh)
        ).status_code
        == 204
    )
    db.session.refresh(user)
    assert user.has_password and user.check_password("tangerine velvet harbour")
    assert me(client, fresh).status_code == 200  # this device stays signed in
    assert me(client, tokens).status_code == 401  # the other one ended


def register_again(client, sim, user: User) -> dict:
    """A fresh wx.login for the same WeChat user: a new, recent sign-in."""
    answer = client.post(
        f"{API}/session", json={"code": login_code(sim, user=user.wechat_identities[0].openid)}
    )
    assert answer.status_code == 200 and answer.get_json()["registered"] is True
    return answer.get_json()


def test_a_password_change_asks_for_the_current_one(client, sim, db):
    tokens = register(client, sim)
    in_english(db, client, tokens)
    user = account(db, client, tokens)
    user.set_password("the old long password")
    db.session.commit()
    path = f"{API}/me/password"
    missing = client.post(
        path, json={"new_password": "a new long password"}, headers=bearer(tokens, **EN)
    )
    assert missing.status_code == 422
    assert missing.get_json()["error"]["fields"] == {
        "current_password": "That is not your current password."
    }
    wrong = client.post(
        path,
        json={"current_password": "not it at all", "new_password": "a new long password"},
        headers=bearer(tokens),
    )
    assert wrong.status_code == 422 and "current_password" in wrong.get_json()["error"]["fields"]
    changed = client.post(
        path,
        json={"current_password": "the old long password", "new_password": "a new long password"},
        headers=bearer(tokens),
    )
    assert changed.status_code == 204
    db.session.refresh(user)
    assert user.check_password("a new long password")


# --- invoice ------------------------------------------------------------------------------------


def test_a_special_fapiao_needs_every_registered_detail(client, sim, db):
    tokens = register(client, sim)
    in_english(db, client, tokens)
    for field in ("company_address", "company_phone", "bank_name", "bank_account"):
        answer = client.put(f"{API}/invoice", json={**SPECIAL, field: ""}, headers=bearer(tokens))
        assert answer.status_code == 422, field
        assert field in answer.get_json()["error"]["fields"]
    english = client.put(
        f"{API}/invoice", json={**SPECIAL, "company_phone": None}, headers=bearer(tokens, **EN)
    )
    assert english.get_json()["error"]["fields"]["company_phone"] == (
        "A special VAT invoice needs the company's registered phone number."
    )
    assert client.get(f"{API}/invoice", headers=bearer(tokens)).status_code == 404

    saved = client.put(f"{API}/invoice", json=SPECIAL, headers=bearer(tokens))
    assert saved.status_code == 200, saved.get_json()
    body = saved.get_json()
    assert body["fapiao_type"] == "special" and body["bank_account"] != SPECIAL["bank_account"]
    assert body["bank_account"].endswith("3445") and "*" in body["bank_account"]
    profile = db.session.scalar(db.select(InvoiceProfile))
    assert (
        profile.company_phone == "+862162345678" and profile.bank_account == SPECIAL["bank_account"]
    )

    assert client.delete(f"{API}/invoice", headers=bearer(tokens)).status_code == 204
    assert client.get(f"{API}/invoice", headers=bearer(tokens)).status_code == 404
    assert client.delete(f"{API}/invoice", headers=bearer(tokens)).status_code == 404


def test_an_id_number_needs_the_separate_consent_given_in_the_mini_program(client, sim, db):
    tokens = register(client, sim)
    in_english(db, client, tokens)
    personal = {"kind": "personal", "name": "王小明", "tax_number": ID_NUMBER}
    refused = client.put(f"{API}/invoice", json=personal, headers=bearer(tokens, **EN))
    assert refused.status_code == 422
    assert "separate consent" in refused.get_json()["error"]["fields"]["consent_sensitive"]
    saved = client.put(
        f"{API}/invoice", json={**personal, "consent_sensitive": True}, headers=bearer(tokens)
    )
    assert saved.status_code == 200
    consent = db.session.scalar(db.select(Consent).filter_by(kind="sensitive_tax_id"))
    assert consent.source == "miniprogram" and consent.withdrawn_at is None


def test_saving_the_invoice_after_an_old_sign_in_asks_for_the_password(client, sim, db):
    tokens = register(client, sim)
    user = account(db, client, tokens)
    user.set_password("the account's own password")
    db.session.commit()
    age_sign_in(db, user)
    stale = client.put(f"{API}/invoice", json=SPECIAL, headers=bearer(tokens))
    assert stale.status_code == 403 and stale.get_json()["error"]["code"] == "reauth_required"
    assert stale.get_json()["error"]["message"].startswith("请确认是您本人")
    wrong = client.put(
        f"{API}/invoice", json={**SPECIAL, "password": "nope"}, headers=bearer(tokens)
    )
    assert wrong.status_code == 422 and "password" in wrong.get_json()["error"]["fields"]
    right = client.put(
        f"{API}/invoice",
        json={**SPECIAL, "password": "the account's own password"},
        headers=bearer(tokens),
    )
    assert right.status_code == 200


# --- newsletter ---------------------------------------------------------------------------------


def test_the_newsletter_needs_an_address_and_unsubscribing_is_immediate(client, sim, db, mailbox):
    tokens = register(client, sim)
    path = f"{API}/subscriptions"
    assert client.get(path, headers=bearer(tokens)).get_json() == {"state": "none"}
    no_address = client.put(path, json={"subscribed": True}, headers=bearer(tokens))
    assert no_address.status_code == 409
    assert no_address.get_json()["error"]["code"] == "email_required"

    user = account(db, client, tokens)
    user.email = "buyer@example.com"
    db.session.commit()
    asked = client.put(path, json={"subscribed": True}, headers=bearer(tokens))
    assert asked.status_code == 200 and asked.get_json() == {"state": "pending"}
    assert any("buyer@example.com" in str(m["To"]) for m in mailbox)  # double opt-in mail
    consent = db.session.scalar(db.select(Consent).filter_by(kind="subscription"))
    assert consent.source == "miniprogram" and consent.confirmed_at is None
    ended = client.put(path, json={"subscribed": False}, headers=bearer(tokens))
    assert ended.get_json() == {"state": "none"}
