"""Policy updates (policy 7) and incident notices (3.2): shown until handled, mailed in each language."""

from __future__ import annotations

import pytest
from privacy_support import messages_to, text_of

from xometry_site.extensions import db
from xometry_site.models import Consent, NoticeReceipt
from xometry_site.services.privacy import consents


@pytest.fixture
def app_config():
    """Users are created while the 2022 edition is in force."""
    return {"POLICY_CURRENT_EDITION": "2022"}


def _publish_2024(app):
    app.config["POLICY_CURRENT_EDITION"] = "2024"


def test_no_notice_while_the_accepted_edition_is_current(client, user, login_as):
    login_as(user)
    page = client.get("/?lang=en").get_data(as_text=True)
    assert "Our Data Protection Policy has been updated" not in page


def test_a_new_edition_shows_its_changes_and_a_comparison_link(app, client, user, login_as):
    login_as(user)
    _publish_2024(app)
    page = client.get("/?lang=en").get_data(as_text=True)
    assert "Our Data Protection Policy has been updated" in page
    assert "You accepted the edition of 2022" in page
    assert "The policy now covers the WeChat Mini Program" in page  # the summary of changes
    assert "/policy/compare?a=2022&amp;b=2024" in page
    assert 'action="/privacy/policy/accept"' in page
    assert 'href="/privacy/policy/decline"' in page
    zh = client.get("/?lang=zh_CN").get_data(as_text=True)
    assert "微信小程序" in zh  # the Chinese summary in Chinese pages


def test_accepting_records_a_consent_for_the_new_edition(app, client, user, login_as):
    login_as(user)
    _publish_2024(app)
    response = client.post("/privacy/policy/accept", data={})
    assert response.status_code == 302
    newest = consents.active(user, "policy")
    assert newest.policy_edition == "2024" and newest.source == "policy_update"
    old = db.session.scalar(
        db.select(Consent).filter_by(user_id=user.id, kind="policy", policy_edition="2022")
    )
    assert old is not None  # the earlier consent stays on record
    assert "Our Data Protection Policy has been updated" not in client.get("/?lang=en").get_data(
        as_text=True
    )


def test_declining_explains_the_options(app, client, user, login_as):
    login_as(user)
    _publish_2024(app)
    page = client.get("/privacy/policy/decline?lang=en").get_data(as_text=True)
    assert "Withdraw your consent and close your account" in page
    assert 'href="/privacy/deregister?reason=policy"' in page
    assert 'action="/privacy/export"' in page
    page = client.get("/privacy/deregister?reason=policy&lang=en").get_data(as_text=True)
    assert (
        "Withdrawing your consent to the Data Protection Policy means closing your account" in page
    )


def test_incident_notice_reaches_selected_users_in_their_language(
    client, make_user, login_as, mailbox
):
    staff = make_user(is_staff=True)
    chinese = make_user(preferred_language="zh_CN")
    english = make_user(preferred_language="en")
    bystander = make_user()
    login_as(staff)
    response = client.post(
        "/admin/notices",
        data={
            "title_zh": "安全事件通知",
            "title_en": "Security incident notice",
            "body_zh": "我们发现了一次未经授权的访问。",
            "body_en": "We found an unauthorised access.",
            "audience": "selected",
            "emails": f"{chinese.email}\n{english.email.upper()}, nobody@example.com",
        },
    )
    assert response.status_code == 302
    assert "nobody@example.com" in client.get("/admin/notices?lang=en").get_data(as_text=True)
    assert "安全事件通知" in text_of(messages_to(mailbox, chinese.email)[0])
    assert "We found an unauthorised access." in text_of(messages_to(mailbox, english.email)[0])
    assert messages_to(mailbox, bystander.email) == []
    assert db.session.scalar(db.select(db.func.count(NoticeReceipt.id))) == 2


def test_notice_shows_on_every_page_until_dismissed_and_stays_in_my_data(
    client, make_user, login_as
):
    staff = make_user(is_staff=True)
    user = make_user(preferred_language="en")
    login_as(staff)
    client.post(
        "/admin/notices",
        data={
            "title_zh": "通知",
            "title_en": "Notice to all",
            "body_zh": "正文",
            "body_en": "Body text",
            "audience": "all",
        },
    )
    login_as(user)
    assert "Notice to all" in client.get("/?lang=en").get_data(as_text=True)
    receipt = db.session.scalar(db.select(NoticeReceipt).filter_by(user_id=user.id))
    client.post(f"/privacy/notices/{receipt.notice_id}/dismiss", data={})
    assert "Notice to all" not in client.get("/?lang=en").get_data(as_text=True)
    assert "Notice to all" in client.get("/privacy?lang=en").get_data(as_text=True)
    # another user's notice cannot be dismissed by id
    assert client.post("/privacy/notices/99999/dismiss", data={}).status_code == 404


def test_the_comparison_is_linked_and_readable_in_both_languages(app, client, user, login_as):
    login_as(user)
    _publish_2024(app)
    link = "/policy/compare?a=2022&amp;b=2024"
    for lang, button in (("zh_CN", "比较两个版本"), ("en", "Compare the two editions")):
        page = client.get(f"/?lang={lang}").get_data(as_text=True)
        assert 'id="policy-update-title"' in page and button in page and link in page, lang
        compare = client.get(f"{link.replace('&amp;', '&')}&lang={lang}")
        assert compare.status_code == 200
    assert "WeChat Mini Program" in compare.get_data(as_text=True)


def test_incident_notice_mail_defaults_to_chinese_and_skips_closed_accounts(
    client, make_user, login_as, mailbox
):
    staff = make_user(is_staff=True)
    unset = make_user(preferred_language=None)
    closed = make_user(preferred_language="en")
    closed.deregistered_at = closed.erase_after = db.func.now()
    db.session.commit()
    login_as(staff)
    client.post(
        "/admin/notices",
        data={
            "title_zh": "安全事件通知",
            "title_en": "Security incident notice",
            "body_zh": "正文",
            "body_en": "Body",
            "audience": "all",
        },
    )
    mail = messages_to(mailbox, unset.email)
    assert len(mail) == 1 and "安全事件通知" in text_of(mail[0])
    assert mail[0]["Content-Language"].startswith("zh")
    assert messages_to(mailbox, closed.email) == []


@pytest.mark.parametrize("app_config", [{"POLICY_EFFECTIVE_DATE": "2024-09-02"}])
def test_a_consent_recorded_under_a_date_id_keeps_its_edition_when_the_date_is_set(
    app, client, make_user, login_as
):
    """Consents were recorded under the edition's effective date (the default 2024-07-01)
    before editions had names: setting the date neither asks the user again nor loses the link."""
    user = make_user()
    db.session.execute(
        db.update(Consent).where(Consent.user_id == user.id).values(policy_edition="2024-07-01")
    )
    db.session.commit()
    login_as(user)
    page = client.get("/?lang=en").get_data(as_text=True)
    assert "Our Data Protection Policy has been updated" not in page
    consents_page = client.get("/privacy/consents?lang=en").get_data(as_text=True)
    assert 'href="/policy/2024"' in consents_page
    # and an edition before it still counts as older
    db.session.execute(
        db.update(Consent).where(Consent.user_id == user.id).values(policy_edition="2022-03-15")
    )
    db.session.commit()
    page = client.get("/?lang=en").get_data(as_text=True)
    assert "You accepted the edition of 2022" in page
