"""Service messages (services/notifications.py): one call adds the inbox row and mails the user in
their language, or texts them when the account has no e-mail address, in the caller's transaction;
the inbox at /account/notifications lists them newest first, marks them read, and the header
counts the unread ones without a query of its own."""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from privacy_support import messages_to
from test_quotes_support import pdf_bytes, post_quote
from wechat_support import sms_lines

from xometry_site.extensions import db
from xometry_site.models import DataExport, Notification, OutboxMessage, Quote, User
from xometry_site.models.base import utcnow
from xometry_site.services.notifications import NotificationError, notify
from xometry_site.services.privacy import erasure

ORDER = "XA-2026-000123"
ORDER_PATH = f"/orders/{ORDER}"


def page_text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def shipped(user, number: str = ORDER, tracking: str = "SF1234567890") -> Notification:
    return notify(
        user, "shipped", f"/orders/{number}", number=number, carrier="sf", tracking_number=tracking
    )


def site(app) -> str:
    return app.config["SERVER_NAME_FOR_MAIL"].rstrip("/")


def wechat_only(make_user, **values) -> User:
    """An account made by WeChat sign-in: a proved phone, no e-mail address, no password."""
    return make_user(
        email=None,
        email_verified_at=None,
        password=None,
        phone_verified_at=utcnow(),
        **values,
    )


# --- sending -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "subject", "words"),
    [
        (
            "zh_CN",
            f"订单 {ORDER} 已发货",
            ["已由顺丰速运发出", "运单号 SF1234567890", "跟踪我的订单"],
        ),
        (
            "en",
            f"Order {ORDER} has shipped",
            ["has shipped with SF Express, tracking number SF1234567890", "Track my order"],
        ),
    ],
)
def test_a_message_is_a_row_and_a_mail_in_the_users_language_with_an_absolute_link(
    app, make_user, mailbox, lang, subject, words
):
    user = make_user(preferred_language=lang)  # not subscribed to the newsletter: a service message
    row = shipped(user)
    db.session.commit()
    assert (row.kind, row.params, row.link_path, row.read_at) == (
        "shipped",
        {"number": ORDER, "carrier": "sf", "tracking_number": "SF1234567890"},
        ORDER_PATH,
        None,
    )
    [mail] = messages_to(mailbox, user.email)
    assert mail["Subject"] == subject
    assert mail["Content-Language"] == ("zh-CN" if lang == "zh_CN" else "en")
    for part in ("plain", "html"):
        body = mail.get_body((part,)).get_content()
        assert all(word in body for word in words), body
        assert site(app) + ORDER_PATH in body  # absolute, from SITE_URL
        assert site(app) + "/account/notifications" in body  # where every message is kept
    assert sms_lines(app) == []


def test_an_account_without_e_mail_gets_a_text_in_its_language_with_the_link(
    app, make_user, mailbox
):
    user = wechat_only(make_user, preferred_language="en")
    notify(user, "payment_received", ORDER_PATH, number=ORDER, amount=Decimal("1234.5"))
    db.session.commit()
    [line] = sms_lines(app)
    assert line["to"] == user.phone
    assert line["text"] == (
        f"[Xometry Asia] We have received your payment of ¥1,234.50 for order {ORDER}. "
        f"{site(app)}{ORDER_PATH}"
    )
    assert mailbox == []
    assert db.session.scalar(db.select(OutboxMessage.purpose)) == "sms_payment_received"


def test_a_chinese_text_carries_the_operators_signature(app, make_user):
    user = wechat_only(make_user, preferred_language="zh_CN")
    shipped(user)
    db.session.commit()
    [line] = sms_lines(app)
    assert line["text"].startswith("【Xometry Asia】订单 XA-2026-000123 已由顺丰速运发出")


def test_an_unconfirmed_address_typed_at_wechat_sign_in_gets_no_order_mail(app, make_user, mailbox):
    """The newsletter address of a WeChat account was never proved to be theirs: the proved
    phone gets the message, the address nothing."""
    user = wechat_only(make_user)
    user.email = "maybe-someone-else@example.com"
    db.session.commit()
    shipped(user)
    db.session.commit()
    assert mailbox == []
    assert [line["to"] for line in sms_lines(app)] == [user.phone]


def test_an_account_with_neither_gets_only_the_inbox_row(app, make_user, mailbox, caplog):
    user = make_user(email=None, email_verified_at=None, phone=None, name="王秘密")
    with caplog.at_level(logging.INFO, logger="xometry_site"):
        row = shipped(user)
        db.session.commit()
    assert db.session.get(Notification, row.id) is not None
    assert mailbox == [] and sms_lines(app) == []
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 0
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"notification.no_channel kind=shipped user={user.id}" in logged
    assert "王秘密" not in logged and ORDER not in logged and "SF1234567890" not in logged


def test_nothing_is_kept_or_sent_when_the_caller_rolls_back(app, make_user, mailbox):
    mailed, texted = make_user(), wechat_only(make_user)
    shipped(mailed)
    shipped(texted)
    db.session.rollback()  # the event failed: its messages go with it
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count(Notification.id))) == 0
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 0
    assert mailbox == [] and sms_lines(app) == []


def test_notify_leaves_the_commit_to_the_caller(app, make_user, mailbox):
    user = make_user()
    shipped(user)
    db.session.flush()
    with db.engine.connect() as other:  # what another request sees before the caller commits
        assert other.scalar(db.select(db.func.count(Notification.id))) == 0
    assert mailbox == []
    db.session.commit()
    assert len(mailbox) == 1


@pytest.mark.parametrize(
    ("kind", "link", "params"),
    [
        ("newsletter", ORDER_PATH, {"number": ORDER}),  # unknown kind
        ("fapiao_issued", ORDER_PATH, {}),  # a parameter missing
        ("fapiao_issued", ORDER_PATH, {"number": ORDER, "note": "call me at 138…"}),  # free text
        ("fapiao_issued", ORDER_PATH, {"number": "line one\nline two"}),
        ("fapiao_issued", ORDER_PATH, {"number": "X" * 65}),
        ("payment_received", ORDER_PATH, {"number": ORDER, "amount": 12.3}),  # money as a float
        ("quote_priced", "/quotes/Q1", {"ref": "Q1", "total": "1", "valid_until": "tomorrow"}),
        ("fapiao_issued", "https://evil.example/orders/1", {"number": ORDER}),
        ("fapiao_issued", "//evil.example/orders/1", {"number": ORDER}),
        ("fapiao_issued", "orders/1", {"number": ORDER}),
    ],
)
def test_a_callers_mistake_raises_and_adds_nothing(app, make_user, mailbox, kind, link, params):
    user = make_user()
    with pytest.raises(NotificationError):
        notify(user, kind, link, **params)
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count(Notification.id))) == 0
    assert mailbox == []


def test_every_kind_reads_in_both_languages(app, make_user, client, login_as):
    user = make_user()
    valid = datetime(2027, 3, 31, 20, tzinfo=UTC)  # 1 April in Shanghai
    notify(
        user, "quote_priced", "/quotes/Q-7", ref="Q-7", total=Decimal("271.2"), valid_until=valid
    )
    notify(user, "engineer_question", "/quotes/Q-7", ref="Q-7")
    notify(user, "order_confirmed", ORDER_PATH, number=ORDER, total=271)
    notify(user, "payment_received", ORDER_PATH, number=ORDER, amount="271.20")
    shipped(user)
    notify(user, "fapiao_issued", ORDER_PATH, number=ORDER)
    db.session.commit()
    login_as(user)
    en = page_text(client.get("/account/notifications?lang=en"))
    for line in (
        "Our engineer has priced your quote Q-7: ¥271.20 including VAT, valid until April 1, 2027.",
        "Our engineer has a question about Q-7.",
        f"We have confirmed your order {ORDER} for ¥271.00 including VAT.",
        f"We have received your payment of ¥271.20 for order {ORDER}.",
        f"Order {ORDER} has shipped with SF Express, tracking number SF1234567890.",
        f"The fapiao (VAT invoice) for order {ORDER} has been issued",
    ):
        assert line in en
    zh = page_text(client.get("/account/notifications?lang=zh_CN"))
    for line in (
        "有效期至 2027年4月1日",
        "工程师对 Q-7 有一个问题",
        f"订单 {ORDER} 已确认",
        f"已收到订单 {ORDER} 的付款",
        f"订单 {ORDER} 的发票已开具",
    ):
        assert line in zh


# --- the inbox and the header --------------------------------------------------------------------


def _three_messages(user) -> list[Notification]:
    rows = [shipped(user, number=f"XA-2026-00000{n}") for n in (1, 2, 3)]
    for age, row in zip((3, 1, 2), rows, strict=True):
        row.created_at = utcnow() - timedelta(hours=age)
    db.session.commit()
    return rows


def test_the_inbox_lists_newest_first_highlights_unread_and_marks_them_read(
    app, client, make_user, login_as
):
    user = make_user()
    _three_messages(user)
    login_as(user)
    response = client.get("/account/notifications?lang=en")
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    html = response.get_data(as_text=True)
    order = [m.group(1) for m in re.finditer(r"Order (XA-2026-00000\d) has shipped</a>", html)]
    assert order == ["XA-2026-000002", "XA-2026-000003", "XA-2026-000001"]
    assert html.count('class="card inbox-item is-unread"') == 3
    assert 'href="/orders/XA-2026-000002"' in html
    assert "never marketing" in html
    assert 'class="nav-count"' not in html  # this page read them
    db.session.expire_all()
    assert all(n.read_at for n in db.session.scalars(db.select(Notification)))
    again = client.get("/account/notifications?lang=en").get_data(as_text=True)
    assert "is-unread" not in again and again.count('class="card inbox-item"') == 3


def test_the_header_counts_unread_messages_on_every_signed_in_page(
    app, client, make_user, login_as
):
    user = make_user()
    login_as(user)
    assert 'class="nav-count"' not in client.get("/quotes/?lang=en").get_data(as_text=True)
    _three_messages(user)
    page = client.get("/quotes/?lang=en").get_data(as_text=True)
    assert re.search(
        r'href="/account/notifications" class="nav-inbox">Messages <span class="nav-count" aria-hidden="true">3</span>',
        page,
    )
    assert "(3 unread)" in page
    client.get("/account/notifications")
    assert 'class="nav-count"' not in client.get("/quotes/?lang=en").get_data(as_text=True)


def test_many_messages_are_paged_and_only_the_ones_seen_are_read(app, client, make_user, login_as):
    user = make_user()
    start = utcnow()
    for n in range(25):
        row = shipped(user, number=f"XA-2026-{n:06d}")
        row.created_at = start + timedelta(minutes=n)
    db.session.commit()
    login_as(user)
    first = client.get("/account/notifications?lang=en").get_data(as_text=True)
    assert first.count("inbox-item is-unread") == 20
    assert "XA-2026-000024" in first and "XA-2026-000004" not in first
    assert 'href="/account/notifications?page=2"' in first
    assert '<span class="nav-count" aria-hidden="true">5</span>' in first  # five not seen yet
    second = client.get("/account/notifications?page=2&lang=en").get_data(as_text=True)
    assert second.count("inbox-item is-unread") == 5 and "XA-2026-000000" in second
    assert 'href="/account/notifications?page=1"' in second and "page=3" not in second
    for odd in ("page=abc", "page=-4", "page=99999999999999999999999999"):
        assert client.get(f"/account/notifications?{odd}").status_code == 200


def test_another_users_messages_are_never_shown_nor_read(app, client, make_user, login_as):
    mine, theirs = make_user(), make_user()
    shipped(theirs, number="XA-2026-999999")
    shipped(mine)
    db.session.commit()
    login_as(mine)
    page = client.get("/account/notifications?lang=en").get_data(as_text=True)
    assert ORDER in page and "XA-2026-999999" not in page
    db.session.expire_all()
    other = db.session.scalar(db.select(Notification).filter_by(user_id=theirs.id))
    assert other.read_at is None


def test_the_inbox_needs_sign_in(client):
    response = client.get("/account/notifications")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_personal_center_links_to_the_inbox(app, client, make_user, login_as):
    user = make_user()
    shipped(user)
    db.session.commit()
    login_as(user)
    page = page_text(client.get("/account?lang=en"))
    assert "You have 1 unread message." in page and "Open my messages" in page
    assert 'href="/account/notifications"' in client.get("/account").get_data(as_text=True)


# --- the engineer's price ------------------------------------------------------------------------


def _priced_by_an_engineer(client, db, make_user, login_as, owner) -> Quote:
    login_as(owner)
    assert post_quote(client, [("plan.pdf", pdf_bytes())]).status_code == 303
    quote = db.session.scalar(db.select(Quote))
    pdf = quote.drawings[0]
    login_as(make_user(is_staff=True, preferred_language="en"))
    response = client.post(
        f"/admin/quotes/{quote.ref}?lang=en",
        data={f"price_{pdf.id}": "120.00", "lead_days_standard": "8"},
    )
    assert response.status_code == 302
    return quote


def test_a_wechat_only_customer_hears_of_the_engineers_price_by_text_and_in_the_inbox(
    app, client, make_user, login_as, mailbox
):
    owner = wechat_only(make_user, preferred_language="zh_CN")
    quote = _priced_by_an_engineer(client, db, make_user, login_as, owner)
    [line] = [line for line in sms_lines(app) if line["to"] == owner.phone]
    assert f"报价 {quote.ref} 定价：含增值税共 ¥271.20" in line["text"]
    assert f"{site(app)}/quotes/{quote.ref}" in line["text"]
    assert mailbox == []
    login_as(owner)
    inbox = page_text(client.get("/account/notifications?lang=en"))
    assert f"Your quote {quote.ref} is ready" in inbox and "¥271.20 including VAT" in inbox
    assert f'href="/quotes/{quote.ref}"' in client.get("/account/notifications").get_data(True)


# --- My data, the copy and erasure ---------------------------------------------------------------


def test_my_data_and_the_copy_show_messages_and_erasure_removes_them(
    app, client, make_user, login_as, mailbox
):
    user = make_user(preferred_language="en")
    shipped(user)
    db.session.commit()
    login_as(user)
    my_data = page_text(client.get("/privacy?lang=en"))
    assert "Message in your inbox" in my_data and "Order shipped" in my_data
    listed = page_text(client.get("/policy/collection-list?lang=en"))
    assert "shipped, invoiced, a question from our engineer): service messages, never" in listed

    assert client.post("/privacy/export", data={}).status_code == 302
    db.session.expire_all()
    export = db.session.scalar(db.select(DataExport).filter_by(user_id=user.id))
    archive = zipfile.ZipFile(
        io.BytesIO(client.get(f"/privacy/export/{export.public_id}").get_data())
    )
    data = json.loads(archive.read("data.json"))
    [record] = [
        r for r in data["categories"]["running"]["records"] if r["table"] == "notifications"
    ]
    assert record["record"] == "Message in your inbox"
    assert record["fields"]["kind"] == {"label": "What", "value": "shipped"}
    assert record["fields"]["params"]["value"]["tracking_number"] == "SF1234567890"
    assert record["fields"]["link_path"]["value"] == ORDER_PATH

    user_id = user.id
    erasure.deregister(user, now=utcnow() - timedelta(days=30))
    db.session.commit()
    erasure.erase_account(user_id)
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(Notification.id))) == 0
    # an erased account is told nothing more
    assert shipped(db.session.get(User, user_id)) is None
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count(Notification.id))) == 0


@pytest.mark.parametrize("app_config", [{"SMS_BACKEND": "no.such.provider:Backend"}])
def test_a_misconfigured_text_provider_does_not_undo_the_event(app, make_user, caplog):
    user = wechat_only(make_user)
    with caplog.at_level(logging.ERROR, logger="xometry_site"):
        row = shipped(user)
        db.session.commit()
    assert db.session.get(Notification, row.id) is not None  # the inbox still has it
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 0
    assert f"notification.sms_failed kind=shipped user={user.id}" in caplog.text
    assert user.phone not in caplog.text
