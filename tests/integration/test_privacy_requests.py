"""Requests (policy 5.7): filed by users or by verified visitors, due in 15 working days, answered."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from privacy_support import messages_to, text_of

from xometry_site.extensions import db
from xometry_site.models import AuditEvent, PrivacyRequest
from xometry_site.services.privacy import requests as privacy_requests


def _code(mailbox, address: str) -> str:
    body = text_of(messages_to(mailbox, address)[-1])
    return re.search(r"\b(\d{6})\b", body).group(1)


def test_due_date_follows_chinas_official_calendar(app):
    # Friday 27 September 2024: National Day (1-7 Oct) is skipped, 29 Sep and 12 Oct count
    assert privacy_requests.due_date(datetime(2024, 9, 27, 2, tzinfo=UTC)) == date(2024, 10, 23)
    # a request at 23:30 in Shanghai on Friday 31 May 2024 counts from China's date, not UTC's
    late = datetime(2024, 5, 31, 15, 30, tzinfo=UTC)
    assert privacy_requests.due_date(late) == date(2024, 6, 24)  # Dragon Boat Festival on 10 June


def test_signed_in_user_files_a_request_and_sees_its_status(client, user, login_as, mailbox):
    login_as(user)
    response = client.post(
        "/privacy/requests?lang=en",
        data={"kind": "transfer", "processor": "上海某某数据公司", "details": "all my quotes"},
    )
    assert response.status_code == 302
    req = db.session.scalar(db.select(PrivacyRequest).filter_by(user_id=user.id))
    assert req.status == "open" and req.processor == "上海某某数据公司"
    assert req.due_on == privacy_requests.due_date(req.verified_at)
    page = client.get("/privacy/requests?lang=en").get_data(as_text=True)
    assert "Transfer my personal information to another processor" in page
    assert "上海某某数据公司" in page and "Received" in page
    assert len(messages_to(mailbox, user.email)) == 1  # acknowledgement with the due date
    assert len(messages_to(mailbox, app_contact(client))) == 1  # staff told


def app_contact(client) -> str:
    return client.application.config["CONTACT_EMAIL"]


def test_a_transfer_needs_the_name_of_the_processor(client, user, login_as):
    login_as(user)
    page = client.post("/privacy/requests?lang=en", data={"kind": "transfer"}).get_data(
        as_text=True
    )
    assert "Name the processor" in page
    assert db.session.scalar(db.select(PrivacyRequest)) is None


def test_visitor_request_is_filed_only_after_the_mailed_code(client, mailbox):
    response = client.post(
        "/privacy/requests?lang=en",
        data={
            "kind": "question",
            "details": "Do you keep my drawings?",
            "email": "Visitor@Example.com",
        },
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/requests/confirm"
    )
    req = db.session.scalar(db.select(PrivacyRequest))
    assert req.status == "unverified" and req.due_on is None and req.email == "visitor@example.com"
    code = _code(mailbox, "visitor@example.com")
    assert re.fullmatch(r"[0-9a-f]{64}", req.code_hash) and req.code_hash != code  # a keyed hash

    wrong = "000000" if code != "000000" else "111111"
    page = client.post("/privacy/requests/confirm?lang=en", data={"code": wrong}).get_data(
        as_text=True
    )
    assert "That is not the code we sent." in page
    assert db.session.get(PrivacyRequest, req.id).status == "unverified"

    page = client.post("/privacy/requests/confirm?lang=en", data={"code": code}).get_data(
        as_text=True
    )
    assert "Your request has been received" in page
    db.session.expire_all()
    req = db.session.get(PrivacyRequest, req.id)
    assert req.status == "open" and req.due_on == privacy_requests.due_date(req.verified_at)
    assert privacy_requests.queue()[0].id == req.id


def test_code_dies_after_five_wrong_tries(client, mailbox):
    client.post("/privacy/requests", data={"kind": "other", "email": "v@example.com"})
    code = _code(mailbox, "v@example.com")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        client.post("/privacy/requests/confirm", data={"code": wrong})
    page = client.post("/privacy/requests/confirm?lang=en", data={"code": code}).get_data(
        as_text=True
    )
    assert "expired or was mistyped too often" in page
    assert db.session.scalar(db.select(PrivacyRequest)).status == "unverified"
    client.post("/privacy/requests/confirm/resend", data={})
    new_code = _code(mailbox, "v@example.com")
    client.post("/privacy/requests/confirm", data={"code": new_code})
    assert db.session.scalar(db.select(PrivacyRequest)).status == "open"


def test_visitor_with_a_known_address_is_linked_to_the_account(client, user, mailbox):
    client.post("/privacy/requests", data={"kind": "copy", "email": user.email})
    client.post("/privacy/requests/confirm", data={"code": _code(mailbox, user.email)})
    assert db.session.scalar(db.select(PrivacyRequest)).user_id == user.id


def test_staff_queue_is_ordered_by_due_date_and_flags_overdue(client, make_user, login_as):
    staff = make_user(is_staff=True)
    someone = make_user()
    old = PrivacyRequest(
        user_id=someone.id,
        email=someone.email,
        kind="deletion",
        status="open",
        verified_at=datetime(2024, 1, 2, tzinfo=UTC),
        due_on=date(2024, 1, 23),
    )
    new = privacy_requests.file_for_user(someone, privacy_requests.Draft("copy"), "en")
    db.session.add(old)
    db.session.commit()
    login_as(staff)
    page = client.get("/admin/requests?lang=en").get_data(as_text=True)
    assert page.index("Delete my personal information") < page.index("A copy of my personal")
    assert page.count("Overdue") == 1
    assert f"/admin/requests/{new.id}" in page


def test_staff_answer_in_the_app_and_the_requester_is_mailed(client, make_user, login_as, mailbox):
    staff = make_user(is_staff=True)
    someone = make_user(preferred_language="en")
    req = privacy_requests.file_for_user(
        someone, privacy_requests.Draft("question", "Which data?"), "en"
    )
    login_as(staff)
    page = client.get(f"/admin/requests/{req.id}?lang=en").get_data(as_text=True)
    assert "Which data?" in page
    assert db.session.scalar(
        db.select(AuditEvent).filter_by(action="staff.viewed_request", actor_id=staff.id)
    )
    mailbox.clear()
    response = client.post(
        f"/admin/requests/{req.id}",
        data={"status": "answered", "answer": "We hold your account and quotes."},
    )
    assert response.status_code == 302
    mail = messages_to(mailbox, someone.email)
    assert len(mail) == 1 and "We hold your account and quotes." in text_of(mail[0])
    db.session.expire_all()
    assert db.session.get(PrivacyRequest, req.id).answered_by_id == staff.id
    assert privacy_requests.queue() == []


def test_requests_pages_are_staff_only(client, user, login_as):
    login_as(user)
    assert client.get("/admin/requests").status_code == 404
    assert client.get("/admin/audit").status_code == 404
    assert client.get("/admin/notices").status_code == 404
    assert client.get("/admin/users").status_code == 404


def test_the_user_sees_the_due_date_and_an_overdue_flag(client, user, login_as):
    late = PrivacyRequest(
        user_id=user.id,
        email=user.email,
        kind="correction",
        status="in_progress",
        verified_at=datetime(2024, 1, 2, tzinfo=UTC),
        due_on=date(2024, 1, 23),
    )
    db.session.add(late)
    db.session.commit()
    on_time = privacy_requests.file_for_user(user, privacy_requests.Draft("copy"), "en")
    login_as(user)
    for path in ("/privacy/requests?lang=en", "/privacy?lang=en"):
        page = client.get(path).get_data(as_text=True)
        assert "January 23, 2024" in page, path
        assert on_time.due_on.strftime("%B") in page
        assert page.count("Overdue") == 1, path
    zh = client.get("/privacy/requests?lang=zh_CN").get_data(as_text=True)
    assert "2024年1月23日" in zh and "已逾期" in zh


def test_the_staff_dashboard_counts_waiting_and_overdue_requests(client, make_user, login_as):
    someone = make_user()
    db.session.add(
        PrivacyRequest(
            user_id=someone.id,
            kind="deletion",
            status="open",
            verified_at=datetime(2024, 1, 2, tzinfo=UTC),
            due_on=date(2024, 1, 23),
        )
    )
    db.session.commit()
    privacy_requests.file_for_user(someone, privacy_requests.Draft("copy"), "en")
    login_as(make_user(is_staff=True))
    page = client.get("/admin/?lang=en").get_data(as_text=True)
    assert 'href="/admin/requests"' in page
    assert "1 overdue" in page
    assert privacy_requests.queue_counts() == {"open": 2, "overdue": 1}
