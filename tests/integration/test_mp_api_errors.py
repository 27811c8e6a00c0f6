"""Every error the Mini Program API documents can happen: for each operation outside the Personal
Center and the rights (those: test_mp_api_schema.py), each documented status >= 400 is reached by
a request a client could send — WeChat's refusals through its simulator over real HTTP, WeChat
Pay's through its simulator or a closed port, other people's things through a second account —
and answered with a code and a message. Every documented 429 is reached with the limiter on."""

from __future__ import annotations

import pytest
from conftest import free_port
from mp_api_support import Reacher, all_tags, documented_errors
from mp_orders_support import *  # noqa: F403 - the fixtures app_config, paysim, sim …
from mp_orders_support import ADDRESS, ordered, uploaded
from test_mp_api import (
    API,
    OTHER_PHONE,
    bearer,
    login_code,
    phone_code,
    register,
    sign_in,
    sim_post,
)
from test_mp_api_third_parties import seed_recipient
from test_quotes_support import cube_stl, multipart

from xometry_site.models import User
from xometry_site.models.base import utcnow

SESSION_TAGS = {"mp_session"}
OTHER_TAGS = {"mp_account", "mp_quotes", "mp_privacy", "mp_orders"}
ELSEWHERE = {"mp_center", "mp_rights"}  # test_mp_api_schema.py
THIRD_PHONE = "+8613600002222"
FOURTH_PHONE = "+8613500003333"
PASSWORD = "the account's own password"


def _spec(client) -> dict:
    return client.get(f"{API}/openapi.json").get_json()


def _unreached(documented, reacher) -> list:
    return sorted({e for e in documented if e[2] != 429} - reacher.reached)


def test_these_tests_cover_every_tag_of_the_document(client):
    """A new blueprint's operations cannot escape: its tag must be listed here or there."""
    assert all_tags(_spec(client)) == SESSION_TAGS | OTHER_TAGS | ELSEWHERE
    assert not (SESSION_TAGS | OTHER_TAGS) & ELSEWHERE


def _deregistered_wechat_user(client, sim) -> str:
    """A Mini Program user who closed their account from the Mini Program; their OpenID."""
    issued = sim_post(sim, "/wxa/login-code", {})
    first = client.post(f"{API}/session", json={"code": issued["code"]}).get_json()
    body = {
        "phone_code": phone_code(sim, FOURTH_PHONE),
        "accept_policy": True,
        "confirm_adult": True,
    }
    tokens = client.post(f"{API}/register", json=body, headers=bearer(first)).get_json()
    closed = client.post(f"{API}/deregistration", json={"confirm": True}, headers=bearer(tokens))
    assert closed.status_code == 202, closed.get_json()
    return issued["openid"]


def test_every_documented_error_of_sign_in_registration_and_linking_is_reachable(
    app, client, sim, db
):
    """Each refusal a phone meets before it has an account's tokens, as the device sees it."""
    spec = _spec(client)
    documented = documented_errors(spec, SESSION_TAGS)
    owner = register(client, sim)  # the phone PHONE, verified by WeChat
    registering = sign_in(client, sim)
    reacher = Reacher(client)
    expect = reacher.expect
    reacher.common(
        spec,
        documented,
        tokens=registering,
        registering=registering,
        limit=app.config["MAX_FORM_MEMORY_SIZE"],
        skip={("POST", "/link", 403)},  # there 403 is a wrong password (below)
    )

    # sign-in: WeChat refuses a used code (40163) and an unknown one (40029), or is busy (45011)
    code = login_code(sim)
    assert client.post(f"{API}/session", json={"code": code}).status_code == 200
    expect("POST", "/session", 400, json={"code": code}, code="code_invalid")
    expect("POST", "/session", 400, json={"code": "nonsense"}, code="code_invalid")
    sim.fail("jscode2session", errcode=45011, errmsg="api minute-quota reach limit")
    busy = expect(
        "POST", "/session", 503, json={"code": login_code(sim)}, code="wechat_unavailable"
    )
    assert busy.headers["Retry-After"]
    errcodes = {c["errcode"] for c in sim.state.calls if c["endpoint"] == "jscode2session"}
    assert {40163, 40029, 45011} <= errcodes
    expect("POST", "/session", 422, json={})
    openid = _deregistered_wechat_user(client, sim)
    expect("POST", "/session", 403, json={"code": login_code(sim, user=openid)}, code="inactive")

    # refresh
    expect("POST", "/session/refresh", 401, json={"refresh_token": "made-up"})
    expect("POST", "/session/refresh", 422, json={})

    # registration: consents, WeChat's phone answer, a phone that has an account
    consents = {"accept_policy": True, "confirm_adult": True}
    expect(
        "POST",
        "/register",
        400,
        registering,
        json={"phone_code": phone_code(sim, THIRD_PHONE), **consents, "confirm_adult": False},
        code="consent_required",
    )
    expect(
        "POST",
        "/register",
        400,
        registering,
        json={"phone_code": "not-from-the-button", **consents},
        code="phone_code_invalid",
    )
    sim.fail("getuserphonenumber", errcode=45011, errmsg="api minute-quota reach limit")
    expect(
        "POST",
        "/register",
        503,
        registering,
        json={"phone_code": phone_code(sim, THIRD_PHONE), **consents},
        code="wechat_unavailable",
    )
    expect("POST", "/register", 422, registering, json={"accept_policy": True})
    expect(
        "POST",
        "/register",
        409,
        owner,
        json={"phone_code": phone_code(sim, THIRD_PHONE), **consents},
        code="registered",
    )
    expect("POST", "/link", 409, registering, json={"confirm": True}, code="nothing_to_link")
    linking = expect(
        "POST",
        "/register",
        409,
        registering,
        json={"phone_code": phone_code(sim), **consents},
        code="link_required",
    )
    assert linking.get_json()["link"]["methods"] == ["phone"]

    # linking to the website's account that proved the phone and has a password: a wrong one
    website = User(email="buyer@example.com", phone=OTHER_PHONE, phone_verified_at=utcnow())
    website.set_password(PASSWORD)
    db.session.add(website)
    db.session.commit()
    other = sign_in(client, sim)
    offer = expect(
        "POST",
        "/register",
        409,
        other,
        json={"phone_code": phone_code(sim, OTHER_PHONE), **consents},
        code="link_required",
    )
    assert offer.get_json()["link"]["methods"] == ["phone", "password"]
    expect("POST", "/link", 400, other, json={"confirm": False})
    expect("POST", "/link", 422, other, json={})
    expect(
        "POST",
        "/link",
        403,
        other,
        json={"confirm": True, "password": "guess"},
        code="wrong_password",
    )
    assert client.get(f"{API}/me", headers=bearer(other)).status_code == 403
    linked = client.post(f"{API}/link", json={"confirm": True}, headers=bearer(other))
    assert linked.status_code == 200  # the phone WeChat proved is enough
    assert client.get(f"{API}/me", headers=bearer(linked.get_json())).get_json()["id"] == website.id

    assert not _unreached(documented, reacher), _unreached(documented, reacher)


def test_every_other_documented_error_is_reachable(app, client, sim, db, paysim):
    """Accounts, quotes, my data and orders, WeChat Pay's refusals and outages included."""
    spec = _spec(client)
    documented = documented_errors(spec, OTHER_TAGS)
    owner = register(client, sim)
    stranger = register(client, sim, phone=OTHER_PHONE)
    registering = sign_in(client, sim)
    order = ordered(client, db, owner)
    quote = client.get(f"{API}/quotes/{order['quote_ref']}", headers=bearer(owner)).get_json()
    address = client.get(f"{API}/addresses", headers=bearer(owner)).get_json()[0]["id"]
    values = {
        "address_id": address,
        "ref": quote["ref"],
        "part_id": quote["parts"][0]["id"],
        "number": order["number"],
    }
    reacher = Reacher(client, values)
    expect = reacher.expect
    limit = app.config["MAX_FORM_MEMORY_SIZE"]
    reacher.common(spec, documented, tokens=owner, registering=registering, limit=limit)

    # another account's things are not found; so is what was never made
    for method, template, kw in [
        ("PUT", "/addresses/{address_id}", {"json": ADDRESS}),
        ("DELETE", "/addresses/{address_id}", {}),
        ("GET", "/invoice", {}),  # the stranger saved no invoice details
        ("GET", "/quotes/{ref}", {}),
        ("GET", "/quotes/{ref}/parts/{part_id}/price", {}),
        ("PUT", "/quotes/{ref}/parts/{part_id}", {"json": {"quantity": 3}}),
        ("POST", "/quotes/{ref}/accept", {"json": {"address_id": address}}),
        ("GET", "/orders/{number}", {}),
        ("POST", "/orders/{number}/wechat-pay", {}),
    ]:
        expect(method, template, 404, stranger, code="not_found", **kw)
    expect("GET", "/orders/{number}/fapiao", 404, owner, code="not_found")  # none issued yet

    # values refused
    expect("POST", "/addresses", 422, owner, json={**ADDRESS, "district": "110101"})
    expect("PUT", "/addresses/{address_id}", 422, owner, json={**ADDRESS, "postal_code": "x"})
    expect("GET", "/quotes/{ref}/parts/{part_id}/price", 422, owner, query_string={"quantity": 0})
    expect("PUT", "/quotes/{ref}/parts/{part_id}", 422, owner, json={"process": "nope"})
    expect("POST", "/quotes/{ref}/accept", 422, owner, json={})

    # the quote was ordered: it cannot change or be ordered again
    expect("PUT", "/quotes/{ref}/parts/{part_id}", 409, owner, json={"quantity": 3})
    expect("POST", "/quotes/{ref}/accept", 409, owner, json={"address_id": address})

    # uploads
    body, content_type = multipart([("note", "no drawing")], [])
    expect("POST", "/quotes", 400, owner, data=body, content_type=content_type, code="no_file")
    app.config["UPLOAD_MAX_FILE_SIZE"] = 1000
    body, content_type = multipart([], [("big.stl", cube_stl(repeat=20))])
    expect("POST", "/quotes", 413, owner, data=body, content_type=content_type, code="too_large")

    # WeChat Pay refuses, does not answer, or is not offered
    paysim.fail("jsapi", status=400, code="PARAM_ERROR")
    expect("POST", "/orders/{number}/wechat-pay", 502, owner, code="pay_refused")
    app.config["WECHATPAY_API_BASE_URL"] = f"http://127.0.0.1:{free_port()}"  # nobody listens
    closed = expect("POST", "/orders/{number}/wechat-pay", 503, owner, code="pay_unreachable")
    assert closed.headers["Retry-After"]
    app.config["WECHATPAY_API_BASE_URL"] = paysim.base_url
    app.config["WECHATPAY_MCHID"] = None
    expect("POST", "/orders/{number}/wechat-pay", 409, owner, code="pay_not_configured")
    detail = client.get(f"{API}/orders/{order['number']}", headers=bearer(owner)).get_json()
    assert detail["status"] == "awaiting_payment"  # none of it touched the order

    assert not _unreached(documented, reacher), _unreached(documented, reacher)


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True}], indirect=True)
def test_every_documented_429_is_reached_with_the_limiter_on(app, client, sim, db, paysim):
    """Each limit is lowered in the configuration the moment before it is tried (the API reads
    its limits when a request comes), so setting up the test does not spend it."""
    spec = _spec(client)
    documented = {e for e in documented_errors(spec, all_tags(spec)) if e[2] == 429}
    owner = register(client, sim)
    registering = sign_in(client, sim)
    order = ordered(client, db, owner)
    quote = uploaded(client, owner)
    user = db.session.get(User, client.get(f"{API}/me", headers=bearer(owner)).get_json()["id"])
    user.set_password(PASSWORD)
    db.session.commit()
    values = {
        "ref": quote["ref"],
        "part_id": quote["parts"][0]["id"],
        "number": order["number"],
        "recipient_id": seed_recipient().id,
    }
    reacher = Reacher(client, values)

    def limited(setting, method, template, tokens=None, times=1, **kw):
        if setting:
            app.config[setting] = f"{times} per hour"
        url = API + template.format(**values)
        for _ in range(times):
            answer = client.open(url, method=method, headers=bearer(tokens) if tokens else {}, **kw)
            assert answer.status_code != 429, (method, url)
        reacher.expect(method, template, 429, tokens, code="rate_limited", **kw)

    empty, content_type = multipart([("note", "no drawing")], [])
    limited("API_SIGN_IN_LIMIT", "POST", "/session", json={})
    limited("API_REFRESH_LIMIT", "POST", "/session/refresh", json={"refresh_token": "made-up"})
    limited("REGISTER_LIMIT", "POST", "/register", registering, json={})
    limited("LOGIN_LIMIT", "POST", "/link", registering, json={"confirm": True})
    limited("API_UPLOAD_LIMIT", "POST", "/quotes", owner, data=empty, content_type=content_type)
    limited("PART_PRICE_LIMIT", "GET", "/quotes/{ref}/parts/{part_id}/price", owner)
    limited("WECHATPAY_PAY_LIMIT", "POST", "/orders/{number}/wechat-pay", owner)
    limited("LOGIN_LIMIT", "POST", "/deregistration", owner, json={"confirm": False})
    # the website's fixed limits, shared with it
    guess = {"current_password": "guess", "new_password": "a brand new password"}
    limited(None, "POST", "/me/password", owner, times=10, json=guess)
    limited(None, "POST", "/exports", owner, times=10)
    limited(None, "POST", "/privacy-requests", owner, times=20, json={"kind": "nothing"})
    consent = "/consents/third-parties/{recipient_id}"
    limited(None, "POST", consent, owner, times=30, json={"agree": True})
    reacher.expect("POST", consent + "/withdraw", 429, owner, code="rate_limited")  # one budget

    assert reacher.reached == documented, sorted(documented ^ reacher.reached)
