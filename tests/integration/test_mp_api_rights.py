"""The Mini Program and the policy's rights: a copy of my data (inline and on RQ), consents and
their withdrawal, deregistration, requests, policy editions and what the Mini Program collected —
signed in through the WeChat simulator, the website's services behind each."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from test_mp_api import API, OTHER_PHONE, PHONE, bearer, login_code, me, register
from test_mp_api_center import EN, account, age_sign_in, in_english, register_again
from test_quotes_support import cube_stl, multipart
from wechat_support import *  # noqa: F403 - the fixtures app_config, sim, sim_server
from wechat_support import register as website_register
from wechat_support import wechat_settings

from xometry_site.models import DataExport

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
