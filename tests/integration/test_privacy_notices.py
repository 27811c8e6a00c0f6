"""Policy updates (policy 7) and incident notices (3.2): shown until handled, mailed in each language."""

from __future__ import annotations

import pytest
from privacy_support import messages_to, notice_form, text_of

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
        data=notice_form(
            "安全事件通知",
            "Security incident notice",
            "我们发现了一次未经授权的访问。",
            "We found an unauthorised access.",
            audience="selected",
            emails=f"{chinese.email}\n{english.email.upper()}, nobody@example.com",
        ),
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
        data=notice_form("通知", "Notice to all", "正文", "Body text", audience="all"),
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


def test_incident_notice_mail_defaults_to_chinese_and_reaches_accounts_in_cooling_off(
    client, make_user, login_as, mailbox
):
    staff = make_user(is_staff=True)
    unset = make_user(preferred_language=None)
    closing = make_user(preferred_language="en")
    closing.deregistered_at = closing.erase_after = db.func.now()
    erased = make_user(preferred_language="en")
    erased.erased_at = db.func.now()
    db.session.commit()
    login_as(staff)
    client.post(
        "/admin/notices",
        data=notice_form(
            "安全事件通知", "Security incident notice", "正文", "Body", audience="all"
        ),
    )
    mail = messages_to(mailbox, unset.email)
    assert len(mail) == 1 and "安全事件通知" in text_of(mail[0])
    assert mail[0]["Content-Language"].startswith("zh")
    # an account in its cooling-off period still has its data with us: it is affected too
    assert len(messages_to(mailbox, closing.email)) == 1
    assert messages_to(mailbox, erased.email) == []


def test_incident_notice_has_the_parts_policy_3_2_lists(app, client, make_user, login_as, mailbox):
    staff = make_user(is_staff=True)
    reader = make_user(preferred_language="en")
    chinese_reader = make_user(preferred_language="zh_CN")
    login_as(staff)
    form = client.get("/admin/notices?lang=en").get_data(as_text=True)
    for part in ("happened", "impact", "measures", "advice", "remedies"):
        assert f'name="{part}_zh"' in form and f'name="{part}_en"' in form
    assert 'name="body_en"' not in form  # no free text only
    incomplete = notice_form("通知", "Notice", "正文", "Body", audience="all")
    incomplete["remedies_en"] = ""
    assert client.post("/admin/notices", data=incomplete).status_code == 200  # form again
    assert db.session.scalar(db.select(db.func.count(NoticeReceipt.id))) == 0
    client.post(
        "/admin/notices", data=notice_form("通知", "Notice", "正文", "Body", audience="all")
    )
    mail = text_of(messages_to(mailbox, reader.email)[0])
    for heading, text in (
        ("What happened", "Body"),
        ("Possible impact", "impact (English)"),
        ("Measures we took and will take", "measures (English)"),
        ("How to protect yourself", "advice (English)"),
        ("Remedies available to you", "remedies (English)"),
    ):
        assert heading in mail and text in mail
    login_as(chinese_reader)
    zh = client.get("/privacy?lang=zh_CN").get_data(as_text=True)
    assert "事件的基本情况" in zh and "补救措施" in zh


def test_incident_notice_is_texted_to_every_affected_phone(app, client, make_user, login_as):
    from wechat_support import sms_lines

    staff = make_user(is_staff=True, phone=None)
    wechat_only = make_user(email=None, password=None, phone="+8613911112222")
    closing = make_user(phone="+8613911113333", preferred_language="en")
    closing.deregistered_at = closing.erase_after = db.func.now()
    no_phone = make_user(phone=None)
    db.session.commit()
    login_as(staff)
    client.post(
        "/admin/notices",
        data=notice_form("数据泄露通知", "Data breach notice", "正文", "Body", audience="all"),
    )
    texts = {line["to"]: line["text"] for line in sms_lines(app)}
    assert set(texts) == {wechat_only.phone, closing.phone}
    assert "数据泄露通知" in texts[wechat_only.phone] and "/privacy" in texts[wechat_only.phone]
    assert "Data breach notice" in texts[closing.phone]
    receipts = {r.user_id: r for r in db.session.scalars(db.select(NoticeReceipt))}
    assert receipts[wechat_only.id].texted_at and receipts[closing.id].texted_at
    assert receipts[no_phone.id].texted_at is None
    # sending again texts nobody twice
    from xometry_site.services.privacy.notices import text_notice_job

    text_notice_job(receipts[wechat_only.id].notice_id)
    assert len(sms_lines(app)) == 2


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
