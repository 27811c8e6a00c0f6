"""The Mini Program's Personal Center and the policy's rights: profile, password, invoice,
newsletter, a copy of my data, consents, deregistration, requests, policy editions and what the
Mini Program collected — signed in through the WeChat simulator, checked against the website."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from conftest import sign_in as website_sign_in
from test_mp_api import API, OTHER_PHONE, PHONE, bearer, login_code, me, register
from test_quotes_support import cube_stl, multipart
from wechat_support import *  # noqa: F403 - the fixtures app_config, sim, sim_server
from wechat_support import register as website_register
from wechat_support import wechat_settings

from xometry_site.models import ApiSession, Consent, DataExport, InvoiceProfile, User
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


# --- a copy of my data --------------------------------------------------------------------------


def test_a_copy_is_built_and_downloaded_by_its_owner_only(client, sim, db):
    tokens = register(client, sim)
    body, content_type = multipart([], [("bracket.stl", cube_stl())])
    assert (
        client.post(
            f"{API}/quotes", data=body, content_type=content_type, headers=bearer(tokens)
        ).status_code
        == 201
    )
    asked = client.post(f"{API}/exports", headers=bearer(tokens))
    assert asked.status_code == 202
    export = asked.get_json()
    assert export["status"] in ("pending", "building", "ready")
    shown = client.get(f"{API}/exports/{export['id']}", headers=bearer(tokens)).get_json()
    assert shown["status"] == "ready" and shown["downloadable"] is True  # built inline here
    listed = client.get(f"{API}/exports", headers=bearer(tokens)).get_json()
    assert [e["id"] for e in listed] == [export["id"]]

    download = client.get(f"{API}/exports/{export['id']}/download", headers=bearer(tokens))
    assert download.status_code == 200
    assert download.mimetype == "application/zip"
    assert download.headers["Cache-Control"].startswith("no-store")
    assert "attachment" in download.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(download.data))
    names = archive.namelist()
    assert "data.json" in names and "README.txt" in names
    assert any(n.startswith("drawings/") and n.endswith("bracket.stl") for n in names)
    data = json.loads(archive.read("data.json"))
    user = account(db, client, tokens)
    assert data["account_id"] == user.id
    assert PHONE in json.dumps(data["categories"], ensure_ascii=False)

    stranger = register(client, sim, phone=OTHER_PHONE)
    for path in (f"/exports/{export['id']}", f"/exports/{export['id']}/download"):
        other = client.get(f"{API}{path}", headers=bearer(stranger))
        assert other.status_code == 404 and other.get_json()["error"]["code"] == "not_found"
    assert client.get(f"{API}/exports", headers=bearer(stranger)).get_json() == []


def test_a_copy_still_being_built_is_a_409(client, sim, db):
    tokens = register(client, sim)
    user = account(db, client, tokens)
    export = DataExport(user_id=user.id, status="building")
    db.session.add(export)
    db.session.commit()
    answer = client.get(f"{API}/exports/{export.public_id}/download", headers=bearer(tokens))
    assert answer.status_code == 409 and answer.get_json()["error"]["code"] == "still_building"
    assert answer.headers["Retry-After"]


class TestCopiesOnRQ:
    """With REDIS_URL set the copy is the website's RQ job: 409 until a worker has built it."""

    REDIS = "redis://127.0.0.1:6379/5"

    @pytest.fixture
    def app_config(self, sim):
        from conftest import redis_app_config

        yield from ({**wechat_settings(sim), **redis} for redis in redis_app_config(self.REDIS))

    def test_the_copy_is_queued_then_built_by_a_worker(self, app, client, sim, db):
        from xometry_site.jobs_cli import make_worker

        tokens = register(client, sim)
        export = client.post(f"{API}/exports", headers=bearer(tokens)).get_json()
        assert export["status"] == "pending" and export["downloadable"] is False
        path = f"{API}/exports/{export['id']}/download"
        assert client.get(path, headers=bearer(tokens)).status_code == 409
        again = client.post(f"{API}/exports", headers=bearer(tokens)).get_json()
        assert again["id"] == export["id"]  # one copy at a time, as on the website
        make_worker(app, ("default",)).work(burst=True, with_scheduler=False)
        db.session.expire_all()
        download = client.get(path, headers=bearer(tokens))
        assert download.status_code == 200 and download.mimetype == "application/zip"
        assert "data.json" in zipfile.ZipFile(io.BytesIO(download.data)).namelist()


# --- consents -----------------------------------------------------------------------------------


def test_consents_are_listed_and_a_withdrawal_is_recorded(client, sim, db):
    tokens = register(client, sim)
    user = account(db, client, tokens)
    user.email = "buyer@example.com"
    db.session.commit()
    client.put(f"{API}/subscriptions", json={"subscribed": True}, headers=bearer(tokens))
    listed = client.get(f"{API}/consents", headers=bearer(tokens)).get_json()
    assert {c["kind"] for c in listed["in_force"]} == {"policy", "adult"}
    policy = next(c for c in listed["history"] if c["kind"] == "policy")
    assert policy["name"] == "个人信息保护政策" and policy["channel"] == "miniprogram"
    assert policy["edition"] == me(client, tokens).get_json()["current_policy_edition"]
    pending = next(c for c in listed["history"] if c["kind"] == "subscription")
    assert pending["confirmed"] is False and pending["withdrawn_at"] is None

    refused = client.post(f"{API}/consents/policy/withdraw", headers=bearer(tokens))
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "not_withdrawable"
    unknown = client.post(f"{API}/consents/marketing/withdraw", headers=bearer(tokens))
    assert unknown.status_code == 404

    withdrawn = client.post(f"{API}/consents/subscription/withdraw", headers=bearer(tokens))
    assert withdrawn.status_code == 200
    record = next(c for c in withdrawn.get_json()["history"] if c["kind"] == "subscription")
    assert record["withdrawn_at"] is not None
    assert client.get(f"{API}/subscriptions", headers=bearer(tokens)).get_json()["state"] == "none"


def test_withdrawing_functional_cookies_ends_other_sign_ins_but_not_this_one(client, sim, db):
    tokens = register(client, sim)
    user = account(db, client, tokens)
    other = register_again(client, sim, user)
    answer = client.post(f"{API}/consents/cookies_functional/withdraw", headers=bearer(tokens))
    assert answer.status_code == 200
    assert me(client, tokens).status_code == 200
    assert me(client, other).status_code == 401


# --- deregistration -----------------------------------------------------------------------------


def test_deregistration_starts_the_cooling_off_and_ends_the_sign_in(app, client, sim, db):
    tokens = register(client, sim)
    user = account(db, client, tokens)
    openid = user.wechat_identities[0].openid
    unconfirmed = client.post(
        f"{API}/deregistration", json={"confirm": False}, headers=bearer(tokens, **EN)
    )
    assert unconfirmed.status_code == 422
    assert unconfirmed.get_json()["error"]["fields"] == {"confirm": "请勾选以确认。"}
    age_sign_in(db, user)
    stale = client.post(f"{API}/deregistration", json={"confirm": True}, headers=bearer(tokens))
    assert stale.status_code == 403 and stale.get_json()["error"]["code"] == "reauth_required"

    fresh = register_again(client, sim, user)
    answer = client.post(f"{API}/deregistration", json={"confirm": True}, headers=bearer(fresh))
    assert answer.status_code == 202, answer.get_json()
    db.session.refresh(user)
    assert user.deregistered_at is not None and user.erased_at is None
    days = app.config["DEREGISTRATION_COOLING_OFF_DAYS"]
    assert user.erase_after - user.deregistered_at >= timedelta(days=days)
    assert answer.get_json()["erasure_date"].startswith(user.erase_after.date().isoformat())
    assert answer.get_json()["erased"] is False
    assert me(client, fresh).status_code == 401 and me(client, tokens).status_code == 401
    again = client.post(f"{API}/session", json={"code": login_code(sim, user=openid)}, headers=EN)
    assert again.status_code == 403 and again.get_json()["error"]["code"] == "inactive"


def test_deregistration_of_an_account_with_a_password_takes_it(client, sim, db):
    tokens = register(client, sim)
    user = account(db, client, tokens)
    user.set_password("the account's own password")
    db.session.commit()
    age_sign_in(db, user)
    wrong = client.post(
        f"{API}/deregistration", json={"confirm": True, "password": "no"}, headers=bearer(tokens)
    )
    assert wrong.status_code == 422 and "password" in wrong.get_json()["error"]["fields"]
    done = client.post(
        f"{API}/deregistration",
        json={"confirm": True, "password": "the account's own password"},
        headers=bearer(tokens),
    )
    assert done.status_code == 202
    assert me(client, tokens).status_code == 401


# --- requests -----------------------------------------------------------------------------------


def test_a_privacy_request_is_filed_and_listed_with_its_due_date(client, sim, db):
    tokens = register(client, sim)
    in_english(db, client, tokens)
    path = f"{API}/privacy-requests"
    assert client.get(path, headers=bearer(tokens)).get_json() == []
    unknown = client.post(path, json={"kind": "refund"}, headers=bearer(tokens, **EN))
    assert unknown.status_code == 422 and "kind" in unknown.get_json()["error"]["fields"]
    transfer = client.post(path, json={"kind": "transfer"}, headers=bearer(tokens, **EN))
    assert transfer.status_code == 422 and "processor" in transfer.get_json()["error"]["fields"]
    filed = client.post(
        path,
        json={"kind": "correction", "details": "我的公司名称拼错了"},
        headers=bearer(tokens, **EN),
    )
    assert filed.status_code == 201
    body = filed.get_json()
    assert body["status"] == "open" and body["status_name"] == "Received"
    assert body["due_on"] and body["overdue"] is False
    assert [r["id"] for r in client.get(path, headers=bearer(tokens)).get_json()] == [body["id"]]
    stranger = register(client, sim, phone=OTHER_PHONE)
    assert client.get(path, headers=bearer(stranger)).get_json() == []


# --- policy editions and what was collected -----------------------------------------------------


def test_policy_editions_and_their_text_in_the_callers_language(client):
    editions = client.get(f"{API}/policy/editions", headers=EN).get_json()
    assert editions[0]["is_current"] is True
    edition = editions[0]["edition"]
    text = client.get(f"{API}/policy/editions/{edition}", headers=EN).get_json()
    assert text["title"] == "Data Protection Policy" and text["sections"]
    chinese = client.get(f"{API}/policy/editions/{edition}", headers={"Accept-Language": "zh-CN"})
    assert chinese.get_json()["title"] != text["title"]
    missing = client.get(f"{API}/policy/editions/1999-01-01", headers=EN)
    assert missing.status_code == 404


def test_collected_shows_the_phone_masked_and_when(client, sim, db):
    tokens = register(client, sim)
    answer = client.get(f"{API}/collected", headers=bearer(tokens))
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["phone"] == "+86 139****5678" and body["phone_verified_at"]
    assert body["openid_linked"] is True and body["linked_at"]
    assert body["sign_ins"] >= 1 and body["last_sign_in_at"] and body["uploads"] == 0
    assert client.get(f"{API}/collected").status_code == 401


def test_no_center_or_rights_answer_reads_or_sets_a_cookie(app, client, sim, db):
    website = app.test_client()
    website_register(website, app, "wangfang", "+8613600002222")  # a signed-in website session
    cookie = website.get_cookie(app.config["SESSION_COOKIE_NAME"])
    jar = {"Cookie": f"{cookie.key}={cookie.value}; lang=en; cookie_consent=necessary"}
    assert client.get(f"{API}/consents", headers=jar).status_code == 401  # not opened by it
    tokens = register(client, sim)
    export = client.post(f"{API}/exports", headers=bearer(tokens)).get_json()["id"]
    for method, path, body in [
        ("PATCH", "/me", {"name": "王小明"}),
        ("POST", "/me/password", {"new_password": "tangerine velvet harbour"}),
        ("PUT", "/invoice", {"kind": "personal", "name": "王小明"}),
        ("PUT", "/subscriptions", {"subscribed": False}),
        ("GET", f"/exports/{export}/download", None),
        ("POST", "/consents/cookies_functional/withdraw", None),
        ("POST", "/privacy-requests", {"kind": "question", "details": "?"}),
        ("GET", "/collected", None),
        ("POST", "/deregistration", {"confirm": True}),
    ]:
        answer = client.open(
            f"{API}{path}?lang=en", method=method, json=body, headers=bearer(tokens, **jar)
        )
        assert answer.status_code < 300, (path, answer.status_code)
        assert "Set-Cookie" not in answer.headers, path
        assert answer.headers["Cache-Control"].startswith("no-store"), path
    assert website.get("/account").status_code == 200  # the website kept its own session
