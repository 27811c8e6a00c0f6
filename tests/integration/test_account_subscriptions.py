"""E-mail subscription (policy 1.7 / 5.5): double opt-in, withdrawal at once, one-click unsubscribe."""

from __future__ import annotations

import re

import pytest

from xometry_site.extensions import db
from xometry_site.models import Consent


def subscription_rows(user):
    db.session.expire_all()
    return list(
        db.session.scalars(
            db.select(Consent).filter_by(user_id=user.id, kind="subscription").order_by(Consent.id)
        )
    )


def link(message, pattern):
    body = message.get_body(("plain",)).get_content()
    found = re.search(r"https?://\S*" + pattern + r"\S*", body)
    assert found, body
    return found.group(0)


def path_of(url):
    return "/" + url.split("/", 3)[3]


def test_subscribing_is_double_opt_in(client, user, login_as, mailbox):
    login_as(user)
    page = client.get("/account/subscriptions").get_data(as_text=True)
    assert 'name="subscribe" type="checkbox" value="y">' in page  # unticked
    response = client.post("/account/subscriptions", data={"subscribe": "y"})
    assert response.status_code == 302
    [consent] = subscription_rows(user)
    assert consent.confirmed_at is None and consent.withdrawn_at is None
    assert consent.source == "account" and consent.policy_edition
    [message] = mailbox
    assert message["To"] == user.email
    assert message["Subject"] == "请确认您的订阅"
    unsubscribe = link(message, "/unsubscribe/")
    assert message["List-Unsubscribe"].strip() == f"<{unsubscribe}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "等待您确认" in client.get("/account").get_data(as_text=True)

    confirm = path_of(link(message, "/account/subscriptions/confirm/"))
    assert client.get(confirm).status_code == 200
    [consent] = subscription_rows(user)
    assert consent.confirmed_at is not None
    assert "已订阅" in client.get("/account/subscriptions").get_data(as_text=True)


def test_confirmation_link_is_signed(client, user, login_as, mailbox):
    login_as(user)
    client.post("/account/subscriptions", data={"subscribe": "y"})
    confirm = path_of(link(mailbox[0], "/account/subscriptions/confirm/"))
    assert client.get(confirm[:-3] + "abc").status_code == 400
    assert subscription_rows(user)[0].confirmed_at is None


def test_unsubscribing_in_the_account_withdraws_at_once(client, user, login_as, mailbox):
    login_as(user)
    client.post("/account/subscriptions", data={"subscribe": "y"})
    confirm = path_of(link(mailbox[0], "/account/subscriptions/confirm/"))
    client.get(confirm)
    assert client.post("/account/subscriptions", data={}).status_code == 302
    [consent] = subscription_rows(user)
    assert consent.withdrawn_at is not None
    assert "未订阅" in client.get("/account/subscriptions").get_data(as_text=True)


def test_confirming_after_unsubscribing_does_not_subscribe(client, user, login_as, mailbox):
    login_as(user)
    client.post("/account/subscriptions", data={"subscribe": "y"})
    client.post("/account/subscriptions", data={})
    confirm = path_of(link(mailbox[0], "/account/subscriptions/confirm/"))
    assert client.get(confirm).status_code == 400
    assert subscription_rows(user)[0].confirmed_at is None


def test_one_click_unsubscribe_without_signing_in(app, client, user, login_as, mailbox):
    login_as(user)
    client.post("/account/subscriptions", data={"subscribe": "y"})
    client.get(path_of(link(mailbox[0], "/account/subscriptions/confirm/")))
    unsubscribe = path_of(link(mailbox[0], "/unsubscribe/"))

    app.config["WTF_CSRF_ENABLED"] = True  # as in production
    stranger = app.test_client()  # e.g. the mail program: no session, no CSRF token
    page = stranger.get(unsubscribe)
    assert page.status_code == 200 and "退订" in page.get_data(as_text=True)
    assert subscription_rows(user)[0].withdrawn_at is None  # GET (link scanners) changes nothing

    response = stranger.post(
        unsubscribe,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert subscription_rows(user)[0].withdrawn_at is not None


def test_unsubscribe_page_button_works(app, client, user, login_as, mailbox):
    login_as(user)
    client.post("/account/subscriptions", data={"subscribe": "y"})
    unsubscribe = path_of(link(mailbox[0], "/unsubscribe/"))
    page = app.test_client().get(unsubscribe).get_data(as_text=True)
    assert f'action="{unsubscribe}"' in page and 'method="post"' in page
    assert app.test_client().post(unsubscribe).status_code == 200
    assert subscription_rows(user)[0].withdrawn_at is not None  # a pending request ends too


def test_forged_unsubscribe_token_changes_nothing(app, client, user, login_as, mailbox):
    login_as(user)
    client.post("/account/subscriptions", data={"subscribe": "y"})
    assert app.test_client().post("/unsubscribe/MQ.forged.token").status_code == 400
    assert subscription_rows(user)[0].withdrawn_at is None


def _subscribe_confirmed(user, lang):
    from xometry_site.services.privacy import consents

    user.preferred_language = lang
    consents.record(user, "subscription", ip=None, source="test", confirmed=True)
    db.session.commit()


def test_newsletter_goes_to_confirmed_subscribers_in_their_language(
    make_user, runner, mailbox, tmp_path
):
    chinese, english, pending, withdrawn, _never = (make_user() for _ in range(5))
    _subscribe_confirmed(chinese, "zh_CN")
    _subscribe_confirmed(english, "en")
    from xometry_site.services.privacy import consents

    consents.record(pending, "subscription", ip=None, source="test", confirmed=False)
    _subscribe_confirmed(withdrawn, None)
    consents.withdraw(withdrawn, "subscription")
    db.session.commit()
    zh, en = tmp_path / "zh.txt", tmp_path / "en.txt"
    zh.write_text("新材料上线。\n\n欢迎询价。", "utf-8")
    en.write_text("New materials.\n\nAsk for a quote.", "utf-8")

    result = runner.invoke(args=["newsletter", "send", "七月新闻", "July news", str(zh), str(en)])
    assert result.exit_code == 0, result.output
    assert "2" in result.output
    by_recipient = {m["To"]: m for m in mailbox}
    assert set(by_recipient) == {chinese.email, english.email}
    zh_mail, en_mail = by_recipient[chinese.email], by_recipient[english.email]
    assert (
        zh_mail["Subject"] == "七月新闻"
        and "新材料上线" in zh_mail.get_body(("plain",)).get_content()
    )
    assert (
        en_mail["Subject"] == "July news"
        and "New materials." in en_mail.get_body(("plain",)).get_content()
    )
    for message in (zh_mail, en_mail):
        assert message["List-Unsubscribe"].strip().startswith("<http")
        assert "/unsubscribe/" in message["List-Unsubscribe"]
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "/unsubscribe/" in message.get_body(("plain",)).get_content()
    assert "一键退订" in zh_mail.get_body(("html",)).get_content()


@pytest.mark.parametrize(
    "app_config", [{"RATELIMIT_ENABLED": True, "RESEND_ACCOUNT_LIMIT": "2 per 10 minutes"}]
)
def test_sending_the_confirmation_again_is_throttled(client, user, login_as, mailbox):
    login_as(user)
    client.post("/account/subscriptions", data={"subscribe": "y"})
    answers = [client.post("/account/subscriptions/resend").status_code for _ in range(3)]
    assert answers == [302, 302, 429]
    assert len(mailbox) == 3  # the first confirmation and two more, no more
