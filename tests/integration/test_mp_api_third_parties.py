"""Separate consent to a named third party (policy 4, PIPL arts. 23 and 39) from the Mini Program:
the website's list, the same services behind give and withdraw, and the same records on both
channels — signed in through the WeChat simulator."""

from __future__ import annotations

from datetime import date

from conftest import sign_in
from privacy_support import register_recipient
from test_mp_api import API, OTHER_PHONE, bearer, register
from test_mp_api_center import EN, account
from wechat_support import *  # noqa: F403 - the fixtures app_config, sim, sim_server

from xometry_site.extensions import db as _db
from xometry_site.models import Consent, Recipient
from xometry_site.models.base import utcnow
from xometry_site.services.privacy import consents
from xometry_site.services.working_days import china_date

TODAY = date.today()


def seed_recipient(**values) -> Recipient:
    """A recipient on the staff register (by default the laboratory, which needs separate
    consent); a foreign one or a third party deciding for itself needs it."""
    recipient = register_recipient(**values)
    assert recipient.needs_separate_consent == (
        recipient.kind == "provided" or recipient.country != "CN"
    )
    return recipient


def speaking(db, user, language: str) -> None:
    """The account's language, which its answers speak whatever the phone's (bearer.py)."""
    user.preferred_language = language
    db.session.commit()


def give(client, tokens, recipient_id, body=None, **headers):
    return client.post(
        f"{API}/consents/third-parties/{recipient_id}",
        json={"agree": True} if body is None else body,
        headers=bearer(tokens, **headers),
    )


def withdraw(client, tokens, recipient_id, **headers):
    return client.post(
        f"{API}/consents/third-parties/{recipient_id}/withdraw", headers=bearer(tokens, **headers)
    )


def listed(client, tokens, **headers) -> dict:
    answer = client.get(f"{API}/consents", headers=bearer(tokens, **headers))
    assert answer.status_code == 200
    return {entry["recipient_id"]: entry for entry in answer.get_json()["third_parties"]}


def third_party_consents(user) -> list[Consent]:
    _db.session.expire_all()
    return list(
        _db.session.scalars(_db.select(Consent).filter_by(user_id=user.id, kind="third_party"))
    )


def website_section(app, user, recipient) -> str:
    """The recipient's entry on the website's consents page, in English."""
    website = app.test_client()
    sign_in(website, user)
    page = website.get("/privacy/consents?lang=en").get_data(as_text=True)
    start = page.index(f'id="third-party-{recipient.id}"')
    return page[start : page.index("</li>", start)]


def test_the_list_names_each_recipient_that_needs_consent_what_it_receives_and_where(
    client, sim, db
):
    tokens = register(client, sim)
    user = account(db, client, tokens)
    lab = seed_recipient()
    abroad = seed_recipient(
        name_zh="东京计量株式会社",
        name_en="Tokyo Metrology K.K.",
        kind="entrusted",
        country="JP",
        categories=["drawings"],
        contact=None,
    )
    entrusted = seed_recipient(name_zh="苏州精密机械", name_en="Suzhou Precision", kind="entrusted")

    speaking(db, user, "en")
    english = listed(client, tokens)
    assert set(english) == {lab.id, abroad.id}  # an entrusted processor at home needs none
    assert entrusted.id not in english
    assert english[lab.id] == {
        "recipient_id": lab.id,
        "name": "Shanghai Inspection Centre",
        "purpose": "Issues independent inspection reports",
        "categories": ["Drawings and part requirements", "Name", "Phone number"],  # never codes
        "location": "Mainland China",
        "outside_mainland": False,
        "contact": "021-0000 0000",
        "in_use": True,
        "given": False,
        "given_at": None,
    }
    assert english[abroad.id]["location"] == "Japan"
    assert english[abroad.id]["outside_mainland"] is True
    assert english[abroad.id]["contact"] is None

    speaking(db, user, "zh_CN")
    chinese = listed(client, tokens, **EN)  # the account's language wins
    assert chinese[lab.id]["name"] == "上海检测认证中心"
    assert chinese[lab.id]["purpose"] == "出具第三方检测报告"
    assert chinese[lab.id]["categories"][0] == "图纸及零件要求"
    assert chinese[lab.id]["location"] == "中国大陆"
    assert chinese[abroad.id]["location"] == "日本"


def test_giving_is_recorded_once_and_shows_on_the_websites_consents_page(app, client, sim, db):
    tokens = register(client, sim)
    user = account(db, client, tokens)
    lab = seed_recipient()
    assert "not given" in website_section(app, user, lab)

    given = give(client, tokens, lab.id)
    assert given.status_code == 200, given.get_json()
    assert given.headers["Cache-Control"].startswith("no-store")
    body = given.get_json()
    [entry] = body["third_parties"]
    assert entry["given"] is True and entry["given_at"]
    record = next(c for c in body["history"] if c["kind"] == "third_party")
    assert record["recipient_id"] == lab.id and record["channel"] == "miniprogram"
    assert record["withdrawn_at"] is None

    [consent] = third_party_consents(user)
    assert consent.recipient_id == lab.id and consent.withdrawn_at is None
    assert consent.source == "miniprogram" and consent.ip_address and consent.policy_edition
    assert consents.active(user, consents.THIRD_PARTY, lab.id) == consent  # staff may now provide

    again = give(client, tokens, lab.id)
    assert again.status_code == 200 and again.get_json()["third_parties"] == body["third_parties"]
    assert len(third_party_consents(user)) == 1  # nothing new recorded

    section = website_section(app, user, lab)
    assert '<span class="status">given</span>' in section and "Withdraw" in section


def test_withdrawing_takes_effect_at_once_on_both_channels(app, client, sim, db):
    tokens = register(client, sim)
    user = account(db, client, tokens)
    lab = seed_recipient()
    assert give(client, tokens, lab.id).status_code == 200

    withdrawn = withdraw(client, tokens, lab.id)
    assert withdrawn.status_code == 200, withdrawn.get_json()
    assert withdrawn.get_json()["third_parties"][0]["given"] is False
    record = next(c for c in withdrawn.get_json()["history"] if c["kind"] == "third_party")
    assert record["withdrawn_at"] is not None
    [consent] = third_party_consents(user)
    assert consent.withdrawn_at is not None
    assert consents.active(user, consents.THIRD_PARTY, lab.id) is None
    assert "not given" in website_section(app, user, lab)

    # nothing in force: as on the website, no error, and the list comes back unchanged
    again = withdraw(client, tokens, lab.id)
    assert again.status_code == 200
    assert again.get_json()["third_parties"] == withdrawn.get_json()["third_parties"]


def test_a_consent_given_on_the_website_is_listed_and_withdrawn_here(app, client, sim, db):
    tokens = register(client, sim)
    user = account(db, client, tokens)
    lab = seed_recipient()
    website = app.test_client()
    sign_in(website, user)
    posted = website.post(
        "/privacy/consents/third-parties",
        data={"recipient_id": lab.id, "decision": "give", "agree": "y"},
    )
    assert posted.status_code == 302
    assert listed(client, tokens)[lab.id]["given"] is True
    assert third_party_consents(user)[0].source == "consents"  # the website's own channel
    assert withdraw(client, tokens, lab.id).get_json()["third_parties"][0]["given"] is False


def test_an_ended_recipient_stays_listed_while_its_consent_is_in_force(client, sim, db):
    tokens = register(client, sim)
    lab = seed_recipient()
    other = seed_recipient(name_zh="旧检测机构", name_en="Old Laboratory")
    assert give(client, tokens, lab.id).status_code == 200
    for recipient in (lab, other):
        recipient.until = china_date(utcnow())  # ended today, as staff end one
    db.session.commit()

    shown = listed(client, tokens)
    assert set(shown) == {lab.id}  # the ended one without a consent is gone
    assert shown[lab.id]["in_use"] is False and shown[lab.id]["given"] is True
    ended = give(client, tokens, other.id)
    assert ended.status_code == 404 and ended.get_json()["error"]["code"] == "not_found"
    assert withdraw(client, tokens, lab.id).get_json()["third_parties"] == []


def test_refusals_in_the_callers_language(client, sim, db):
    tokens = register(client, sim)
    user = account(db, client, tokens)
    lab = seed_recipient()
    entrusted = seed_recipient(name_en="Suzhou Precision", kind="entrusted")
    speaking(db, user, "en")

    for body in ({}, {"agree": False}):
        unticked = give(client, tokens, lab.id, body)
        assert unticked.status_code == 400
        error = unticked.get_json()["error"]
        assert error["code"] == "agree_required"
        assert error["message"] == "Tick the box to give your consent."
        assert error["fields"] == {"agree": "Tick the box to give your consent."}
    not_boolean = give(client, tokens, lab.id, {"agree": "perhaps"})
    assert not_boolean.status_code == 422

    for unknown in (999_999, 2**40):  # past what an id can be too: not found, never a 500
        missing = give(client, tokens, unknown)
        assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
        assert withdraw(client, tokens, unknown).status_code == 404

    needs_none = give(client, tokens, entrusted.id)
    assert needs_none.status_code == 409
    assert needs_none.get_json()["error"] == {
        "code": "no_consent_needed",
        "message": "This recipient does not ask for your consent (any more). Nothing was recorded.",
    }

    speaking(db, user, "zh_CN")
    unticked = give(client, tokens, lab.id, {}).get_json()["error"]
    assert unticked["message"] == "请勾选复选框以表示同意。"
    in_chinese = give(client, tokens, entrusted.id).get_json()["error"]["message"]
    assert in_chinese == "该接收方（已）不需要您的同意。未记录任何内容。"
    assert third_party_consents(user) == []  # no refusal recorded anything


def test_another_account_cannot_withdraw_a_consent_that_is_not_its_own(client, sim, db):
    owner = register(client, sim)
    stranger = register(client, sim, phone=OTHER_PHONE)
    lab = seed_recipient()
    assert give(client, owner, lab.id).status_code == 200
    assert withdraw(client, stranger, lab.id).status_code == 200  # the stranger's own: none
    assert listed(client, owner)[lab.id]["given"] is True
    assert listed(client, stranger)[lab.id]["given"] is False
