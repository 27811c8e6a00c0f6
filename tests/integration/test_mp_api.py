"""The Mini Program's API: sign-in through the WeChat simulator over real HTTP (wx.login codes,
jscode2session, getuserphonenumber), registration, tokens, one account per person, errors in the
caller's language, no cookies, owner checks and the OpenAPI document."""

from __future__ import annotations

import json
import urllib.request

import pytest
from test_quotes_support import cube_stl, multipart
from wechat_support import *  # noqa: F403 - the fixtures app_config, sim, sim_server
from wechat_support import register as website_register

from xometry_site.models import ApiSession, Consent, User

API = "/api/mp/v1"
PHONE = "+8613912345678"
OTHER_PHONE = "+8613700001111"


def sim_post(sim, path: str, body: dict) -> dict:
    """Ask the simulator what the Mini Program's wx API would give (real HTTP)."""
    request = urllib.request.Request(
        sim.base_url + path, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.load(answer)


def login_code(sim, **body) -> str:
    return sim_post(sim, "/wxa/login-code", body)["code"]


def phone_code(sim, phone: str = PHONE) -> str:
    return sim_post(sim, "/wxa/phone-code", {"phone": phone})["code"]


def bearer(tokens: dict, **headers) -> dict:
    return {"Authorization": f"Bearer {tokens['access_token']}", **headers}


def sign_in(client, sim, **body) -> dict:
    answer = client.post(f"{API}/session", json={"code": login_code(sim, **body)})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def register(client, sim, phone: str = PHONE, **body) -> dict:
    """A new Mini Program user all the way to an account; the registered tokens."""
    first = sign_in(client, sim, **body)
    assert first["registered"] is False
    answer = client.post(
        f"{API}/register",
        json={"phone_code": phone_code(sim, phone), "accept_policy": True, "confirm_adult": True},
        headers=bearer(first),
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def me(client, tokens: dict, **headers):
    return client.get(f"{API}/me", headers=bearer(tokens, **headers))


def test_a_new_code_registers_after_the_phone_and_both_consents(app, client, sim, db):
    first = sign_in(client, sim)
    assert first["registered"] is False and first["token_type"] == "Bearer"
    assert me(client, first).status_code == 403  # still registering

    refused = client.post(
        f"{API}/register",
        json={"phone_code": phone_code(sim), "accept_policy": True, "confirm_adult": False},
        headers=bearer(first, **{"Accept-Language": "en"}),
    )
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "consent_required"
    assert set(refused.get_json()["error"]["fields"]) == {"confirm_adult"}
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0

    answer = client.post(
        f"{API}/register",
        json={"phone_code": phone_code(sim), "accept_policy": True, "confirm_adult": True},
        headers=bearer(first),
    )
    assert answer.status_code == 201
    tokens = answer.get_json()
    assert tokens["registered"] is True
    assert me(client, first).status_code == 401  # the registering tokens stopped
    account = me(client, tokens).get_json()
    assert account["phone"] == "+86 139****5678" and account["phone_verified"] is True
    assert account["wechat_bound"] is True
    user = db.session.get(User, account["id"])
    assert user.phone == PHONE
    consents = db.session.scalars(db.select(Consent).filter_by(user_id=user.id)).all()
    assert {(c.kind, c.source) for c in consents} == {
        ("policy", "miniprogram"),
        ("adult", "miniprogram"),
    }
    assert all(c.policy_edition == account["current_policy_edition"] for c in consents)
    # the registering row forgot the WeChat identity it held
    row = db.session.scalar(db.select(ApiSession).filter_by(user_id=user.id))
    assert row.openid is None and row.unionid is None

    again = sign_in(client, sim, user=user.wechat_identities[0].openid)
    assert again["registered"] is True
    assert me(client, again).get_json()["id"] == user.id


def test_a_used_or_unknown_code_and_a_busy_wechat_are_answered_calmly(client, sim):
    code = login_code(sim)
    assert client.post(f"{API}/session", json={"code": code}).status_code == 200
    used = client.post(f"{API}/session", json={"code": code}, headers={"Accept-Language": "en"})
    assert used.status_code == 400 and used.get_json()["error"]["code"] == "code_invalid"
    unknown = client.post(f"{API}/session", json={"code": "nonsense"})
    assert unknown.status_code == 400
    sim.fail("jscode2session", errcode=45011, errmsg="api minute-quota reach limit")
    busy = client.post(f"{API}/session", json={"code": login_code(sim)})
    assert busy.status_code == 503 and busy.headers["Retry-After"]
    assert busy.get_json()["error"]["code"] == "wechat_unavailable"
    endpoints = [(c["endpoint"], c["errcode"]) for c in sim.state.calls]
    assert ("jscode2session", 40163) in endpoints and ("jscode2session", 45011) in endpoints


def test_tokens_rotate_and_a_spent_refresh_token_ends_the_sign_in(client, sim):
    tokens = register(client, sim)
    renewed = client.post(f"{API}/session/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert renewed.status_code == 200
    fresh = renewed.get_json()
    assert fresh["access_token"] != tokens["access_token"]
    assert fresh["refresh_token"] != tokens["refresh_token"]
    assert me(client, tokens).status_code == 401  # the old access token is replaced
    assert me(client, fresh).status_code == 200

    replayed = client.post(
        f"{API}/session/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert replayed.status_code == 401
    assert me(client, fresh).status_code == 401  # a copied refresh token ends the sign-in
    dead = client.post(f"{API}/session/refresh", json={"refresh_token": fresh["refresh_token"]})
    assert dead.status_code == 401


def test_tokens_are_stored_hashed(client, sim, db):
    tokens = register(client, sim)
    row = db.session.scalar(db.select(ApiSession))
    stored = " ".join(str(v) for v in vars(row).values())
    assert tokens["access_token"] not in stored and tokens["refresh_token"] not in stored


def test_sign_out_ends_this_device_only(client, sim):
    tokens = register(client, sim)
    other = sign_in(client, sim, unionid=None, user=None)  # another person, still registering
    assert client.delete(f"{API}/session", headers=bearer(tokens)).status_code == 204
    assert me(client, tokens).status_code == 401
    refreshed = client.post(
        f"{API}/session/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 401
    assert client.delete(f"{API}/session", headers=bearer(other)).status_code == 204


def _account_of(client, tokens, db) -> User:
    return db.session.get(User, me(client, tokens).get_json()["id"])


def test_a_password_change_ends_every_mini_program_sign_in(client, sim, db):
    from xometry_site.services.accounts.password_reset import change_password

    tokens = register(client, sim)
    user = _account_of(client, tokens, db)
    change_password(user, "a brand new long password", lang="en", reason="reset")
    assert me(client, tokens).status_code == 401
    refreshed = client.post(
        f"{API}/session/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 401


def test_deregistration_ends_the_sign_in_and_refuses_the_next(client, sim, db):
    from xometry_site.services.privacy.erasure import deregister

    tokens = register(client, sim)
    user = _account_of(client, tokens, db)
    openid = user.wechat_identities[0].openid
    deregister(user)
    assert me(client, tokens).status_code == 401
    answer = client.post(
        f"{API}/session",
        json={"code": login_code(sim, user=openid)},
        headers={"Accept-Language": "en"},
    )
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "inactive"


def test_staff_marking_a_minor_ends_the_sign_in(client, sim, db):
    from xometry_site.services.privacy.erasure import mark_minor

    tokens = register(client, sim)
    user = _account_of(client, tokens, db)
    staff = User(email="staff@example.com", is_staff=True)
    db.session.add(staff)
    db.session.commit()
    mark_minor(user, staff)
    assert me(client, tokens).status_code == 401


def test_website_sign_out_everywhere_ends_the_mini_program_too(app, client, sim, db):
    tokens = register(client, sim)
    user = _account_of(client, tokens, db)
    user.end_all_sessions()  # what "sign out" on the website does
    db.session.commit()
    assert me(client, tokens).status_code == 401


def test_the_same_unionid_as_the_website_qr_sign_in_is_the_same_account(app, client, sim, db):
    website = app.test_client()
    answer = website_register(website, app, "zhangwei", OTHER_PHONE)
    assert answer.status_code == 302
    account = db.session.scalar(db.select(User).filter_by(phone=OTHER_PHONE))
    unionid = account.wechat_identities[0].unionid
    assert unionid

    tokens = sign_in(client, sim, unionid=unionid)
    assert tokens["registered"] is True  # no second registration
    assert me(client, tokens).get_json()["id"] == account.id
    db.session.refresh(account)
    apps = {row.appid for row in account.wechat_identities}
    assert "wx-test-miniprogram" in apps and len(apps) == 2
    assert db.session.scalar(db.select(db.func.count(User.id))) == 1


def test_an_account_with_the_verified_phone_asks_to_link_and_never_links_silently(client, sim, db):
    from xometry_site.models.base import utcnow

    account = User(email="buyer@example.com", phone=PHONE, phone_verified_at=utcnow())
    db.session.add(account)
    db.session.commit()

    first = sign_in(client, sim)
    answer = client.post(
        f"{API}/register",
        json={"phone_code": phone_code(sim), "accept_policy": True, "confirm_adult": True},
        headers=bearer(first, **{"Accept-Language": "en"}),
    )
    assert answer.status_code == 409
    body = answer.get_json()
    assert body["error"]["code"] == "link_required"
    assert body["link"]["methods"] == ["phone"]
    assert me(client, first).status_code == 403  # nothing was linked
    db.session.refresh(account)
    assert account.wechat_identities == []
    assert db.session.scalar(db.select(db.func.count(User.id))) == 1

    declined = client.post(f"{API}/link", json={"confirm": False}, headers=bearer(first))
    assert declined.status_code == 400
    linked = client.post(f"{API}/link", json={"confirm": True}, headers=bearer(first))
    assert linked.status_code == 200, linked.get_json()
    assert me(client, linked.get_json()).get_json()["id"] == account.id
    db.session.refresh(account)
    assert [row.appid for row in account.wechat_identities] == ["wx-test-miniprogram"]


def test_a_phone_held_by_another_wechat_users_account_is_never_merged(app, client, sim, db):
    website_register(app.test_client(), app, "lina", PHONE)
    account = db.session.scalar(db.select(User).filter_by(phone=PHONE))

    first = sign_in(client, sim)  # another WeChat user (another UnionID) with that phone
    answer = client.post(
        f"{API}/register",
        json={"phone_code": phone_code(sim), "accept_policy": True, "confirm_adult": True},
        headers=bearer(first),
    )
    assert answer.get_json()["error"]["code"] == "link_required"
    refused = client.post(f"{API}/link", json={"confirm": True}, headers=bearer(first))
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "other_wechat"
    db.session.refresh(account)
    assert len(account.wechat_identities) == 1
    assert me(client, first).status_code == 403


def test_a_phone_only_claimed_never_blocks_the_person_wechat_proved_it_for(client, sim, db):
    """A number typed at e-mail registration and never confirmed is a claim, not an owner: the
    Mini Program user whose phone WeChat proves opens their account, and the claim is dropped."""
    account = User(email="buyer@example.com", phone=PHONE, email_verified_at=None)
    account.set_password("correct horse battery staple")
    db.session.add(account)
    db.session.commit()

    first = sign_in(client, sim)
    answer = client.post(
        f"{API}/register",
        json={"phone_code": phone_code(sim), "accept_policy": True, "confirm_adult": True},
        headers=bearer(first),
    )
    assert answer.status_code == 201
    db.session.expire_all()
    owner = db.session.scalar(db.select(User).filter_by(phone=PHONE))
    assert owner.id != account.id and owner.phone_verified_at is not None
    assert db.session.get(User, account.id).phone is None  # the unproved claim gave way


def test_errors_speak_the_callers_language(client, sim, db):
    english = client.post(f"{API}/session", json={}, headers={"Accept-Language": "en"})
    chinese = client.post(f"{API}/session", json={}, headers={"Accept-Language": "zh-CN"})
    assert english.status_code == chinese.status_code == 422
    assert english.get_json()["error"]["fields"]["code"] == "This field is required."
    assert chinese.get_json()["error"]["fields"]["code"] == "此项为必填项。"
    assert client.get(f"{API}/me").get_json()["error"]["message"] == "请重新登录。"
    unknown = client.get(f"{API}/nowhere", headers={"Accept-Language": "en"})
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "not_found"

    tokens = register(client, sim)  # the account's preference wins over the header
    user = _account_of(client, tokens, db)
    user.preferred_language = "en"
    db.session.commit()
    missing = client.get(
        f"{API}/quotes/Q-NONE", headers=bearer(tokens, **{"Accept-Language": "zh-CN"})
    )
    assert missing.get_json()["error"]["message"].startswith("Not found")


def test_no_api_response_reads_or_sets_a_cookie(app, client, sim, db):
    website = app.test_client()
    website_register(website, app, "wangfang", OTHER_PHONE)  # a signed-in website session
    session_cookie = website.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert session_cookie is not None
    cookie_header = {
        "Cookie": f"{session_cookie.key}={session_cookie.value}; lang=en; cookie_consent=necessary"
    }
    seen = []
    for method, path, kwargs in [
        ("get", f"{API}/openapi.json", {}),
        ("get", f"{API}/me?lang=en", {}),  # the website's session does not open the API
        ("get", f"{API}/nowhere?lang=en", {}),
        ("post", f"{API}/session", {"json": {"code": login_code(sim)}}),
        ("post", f"{API}/session", {"json": {}}),
        ("get", f"{API}/policy?lang=en", {}),
    ]:
        answer = getattr(client, method)(path, headers=cookie_header, **kwargs)
        seen.append(answer.status_code)
        assert "Set-Cookie" not in answer.headers, path
    assert seen[1] == 401
    tokens = register(client, sim)
    for path in ("/me", "/quotes", "/my-data", "/addresses"):
        answer = client.get(f"{API}{path}?lang=en", headers=bearer(tokens, **cookie_header))
        assert answer.status_code == 200 and "Set-Cookie" not in answer.headers
        assert answer.headers["Cache-Control"] == "no-store"
    # the website itself still keeps its session
    assert website.get("/account").status_code == 200


def test_an_uploaded_drawing_is_priced_and_another_users_quote_is_404(client, sim, db):
    owner = register(client, sim)
    body, content_type = multipart([], [("bracket.stl", cube_stl())])
    answer = client.post(
        f"{API}/quotes", data=body, content_type=content_type, headers=bearer(owner)
    )
    assert answer.status_code == 201, answer.get_json()
    quote = answer.get_json()
    ref = quote["ref"]
    detail = client.get(f"{API}/quotes/{ref}", headers=bearer(owner)).get_json()
    part = detail["parts"][0]
    assert part["filename"] == "bracket.stl" and part["analysis_status"] == "analysed"
    assert part["price"]["instant"] is True and float(part["price"]["unit_price"]) > 0
    assert isinstance(part["price"]["dfm"], list)
    listed = client.get(f"{API}/quotes", headers=bearer(owner)).get_json()["quotes"]
    assert [q["ref"] for q in listed] == [ref]

    stranger = register(client, sim, phone=OTHER_PHONE)
    other = client.get(f"{API}/quotes/{ref}", headers=bearer(stranger))
    assert other.status_code == 404 and other.get_json()["error"]["code"] == "not_found"
    assert client.get(f"{API}/quotes", headers=bearer(stranger)).get_json()["quotes"] == []


def test_an_upload_without_a_file_or_of_the_wrong_type_is_refused(client, sim, db):
    tokens = register(client, sim)
    body, content_type = multipart([("note", "no drawing")], [])
    empty = client.post(
        f"{API}/quotes", data=body, content_type=content_type, headers=bearer(tokens)
    )
    assert empty.status_code == 400 and empty.get_json()["error"]["code"] == "no_file"
    body, content_type = multipart([], [("notes.txt", b"hello")])
    wrong = client.post(
        f"{API}/quotes",
        data=body,
        content_type=content_type,
        headers=bearer(tokens, **{"Accept-Language": "en"}),
    )
    assert wrong.status_code == 400
    assert wrong.get_json()["error"]["code"].startswith("upload_")
    assert client.get(f"{API}/quotes", headers=bearer(tokens)).get_json()["quotes"] == []


def test_an_upload_larger_than_the_limit_is_413(app, client, sim):
    app.config["UPLOAD_MAX_FILE_SIZE"] = 1000
    tokens = register(client, sim)
    body, content_type = multipart([], [("big.stl", cube_stl(repeat=20))])
    answer = client.post(
        f"{API}/quotes", data=body, content_type=content_type, headers=bearer(tokens)
    )
    assert answer.status_code == 413 and answer.get_json()["error"]["code"] == "too_large"


def test_addresses_are_the_websites_and_anothers_address_is_404(client, sim):
    tokens = register(client, sim)
    address = {
        "recipient": "张伟",
        "address": "张江路 88 号",
        "phone": "13912345678",
        "province": "310000",
        "city": "310100",
        "district": "310115",
        "postal_code": "201203",
    }
    bad = client.post(
        f"{API}/addresses",
        json={**address, "district": "110101"},
        headers=bearer(tokens, **{"Accept-Language": "en"}),
    )
    assert bad.status_code == 422 and "district" in bad.get_json()["error"]["fields"]
    made = client.post(f"{API}/addresses", json=address, headers=bearer(tokens))
    assert made.status_code == 201
    saved = made.get_json()
    assert saved["is_default"] is True and saved["phone"] == "+86 139****5678"
    assert me(client, tokens).get_json()["default_address"]["id"] == saved["id"]

    stranger = register(client, sim, phone=OTHER_PHONE)
    path = f"{API}/addresses/{saved['id']}"
    assert client.delete(path, headers=bearer(stranger)).status_code == 404
    assert client.put(path, json=address, headers=bearer(stranger)).status_code == 404
    assert client.delete(path, headers=bearer(tokens)).status_code == 204
    assert client.get(f"{API}/addresses", headers=bearer(tokens)).get_json() == []


def test_my_data_and_the_policy_link(client, sim):
    tokens = register(client, sim)
    data = client.get(f"{API}/my-data", headers=bearer(tokens, **{"Accept-Language": "en"}))
    keys = [c["key"] for c in data.get_json()["categories"]]
    assert "registration" in keys
    registration = next(c for c in data.get_json()["categories"] if c["key"] == "registration")
    labels = {i["label"] for r in registration["records"] for i in r["items"]}
    assert "微信 OpenID" in labels  # the account's language (registered in Chinese)
    policy = client.get(f"{API}/policy", headers={"Accept-Language": "en"}).get_json()
    assert policy["url"].endswith("/policy?lang=en") and policy["edition"] in policy["editions"]


def test_the_openapi_document_lists_every_api_route(app, client):
    answer = client.get(f"{API}/openapi.json")
    assert answer.status_code == 200
    spec = answer.get_json()
    assert spec["openapi"].startswith("3.")
    documented = {
        (path, method.upper())
        for path, operations in spec["paths"].items()
        for method in operations
    }
    routed = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API):
            continue
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routed.add((path, method))
    assert routed, "no API route found"
    assert routed <= documented, routed - documented
    signed_in = spec["paths"][f"{API}/me"]["get"]
    assert signed_in["security"] == [{"bearer": []}]
    assert "bearer" in spec["components"]["securitySchemes"]


@pytest.fixture
def redis_config(app_config):
    from conftest import redis_app_config

    yield from redis_app_config("redis://127.0.0.1:6379/13")


def test_the_wechat_access_token_is_kept_in_redis_when_configured(sim, redis_config, tmp_path):
    from redis import Redis

    from xometry_site.services.accounts.miniprogram import code_to_session

    settings = {
        **redis_config,
        "WECHAT_MINIPROGRAM_APP_ID": "wx-test-miniprogram",
        "WECHAT_MINIPROGRAM_APP_SECRET": "wx-test-miniprogram-secret",
        "WECHAT_API_BASE_URL": sim.base_url,
        "WECHAT_TIMEOUT": 2,
    }
    code_to_session(settings, login_code(sim))
    code_to_session(settings, login_code(sim))
    keys = Redis.from_url(redis_config["REDIS_URL"]).keys("xometry:wechatpy:*")
    assert keys == [b"xometry:wechatpy:wx-test-miniprogram_access_token"]
    fetched = [c for c in sim.state.calls if c["endpoint"] == "token"]
    assert len(fetched) == 1  # the second sign-in used the kept token


def test_only_the_upload_takes_a_large_body(app, client, sim):
    from xometry_site.body_limits import UPLOAD_ENDPOINTS

    assert "mp_quotes.quote_upload" in UPLOAD_ENDPOINTS
    assert "mp_quotes.quote_upload" in app.view_functions
    huge = "x" * (int(app.config["MAX_FORM_MEMORY_SIZE"]) + 10)
    answer = client.post(f"{API}/session", json={"code": huge}, headers={"Accept-Language": "en"})
    assert answer.status_code == 413
    assert answer.get_json()["error"]["code"] == "too_large"
    assert "Set-Cookie" not in answer.headers
