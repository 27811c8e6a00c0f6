"""Accountability: staff see the audit log; every staff look at someone's data is on that log."""

from __future__ import annotations

from xometry_site.extensions import db
from xometry_site.models import AuditEvent


def test_audit_log_lists_events_and_filters_by_account(client, make_user, login_as):
    staff = make_user(is_staff=True)
    alice, bob = make_user(), make_user()
    db.session.add_all(
        [
            AuditEvent(
                actor_id=staff.id,
                subject_id=alice.id,
                action="drawing.download",
                target="drawing:1",
            ),
            AuditEvent(
                actor_id=bob.id, subject_id=bob.id, action="export.requested", target="export:9"
            ),
        ]
    )
    db.session.commit()
    login_as(staff)
    response = client.get("/admin/audit?lang=en")
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "drawing:1" in page and "export:9" in page
    page = client.get(f"/admin/audit?user={alice.id}&lang=en").get_data(as_text=True)
    assert "drawing:1" in page and "export:9" not in page
    page = client.get("/admin/audit?action=export&lang=en").get_data(as_text=True)
    assert "export:9" in page and "drawing:1" not in page


def test_staff_opening_an_account_is_logged_and_shown_to_its_owner(
    app, client, make_user, login_as
):
    staff = make_user(is_staff=True, name="客服小李")
    owner = make_user()
    login_as(staff)
    page = client.get(f"/admin/users?q={owner.email}&lang=en").get_data(as_text=True)
    assert f"/admin/users/{owner.id}" in page
    assert client.get(f"/admin/users/{owner.id}").status_code == 200
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="staff.viewed_user"))
    assert event.actor_id == staff.id and event.subject_id == owner.id
    login_as(owner)
    page = client.get("/privacy?lang=en").get_data(as_text=True)
    assert "A staff member viewed your account details" in page
    assert "客服小李" in page


def test_a_staff_search_that_finds_an_account_is_on_its_owners_record(
    app, client, make_user, login_as
):
    staff = make_user(is_staff=True, name="客服小王")
    owner, other = make_user(), make_user()
    login_as(staff)
    page = client.get(f"/admin/users?q={owner.email}&lang=en").get_data(as_text=True)
    assert owner.email in page and other.email not in page
    found = db.session.scalars(db.select(AuditEvent).filter_by(action="staff.found_user")).all()
    assert [(e.actor_id, e.subject_id) for e in found] == [(staff.id, owner.id)]
    client.get("/admin/users?q=nobody@example.com")  # nothing found, nothing logged
    assert (
        db.session.scalar(
            db.select(db.func.count(AuditEvent.id)).filter_by(action="staff.found_user")
        )
        == 1
    )
    login_as(owner)
    page = client.get("/privacy?lang=zh_CN").get_data(as_text=True)
    assert "一名员工在搜索中找到了您的账户" in page and "客服小王" in page
    login_as(other)
    page = client.get("/privacy?lang=en").get_data(as_text=True)
    assert "found your account in a search" not in page


def test_admin_pages_need_staff(app, client, make_user, login_as):
    target = make_user()
    assert client.get("/admin/audit").status_code == 404
    login_as(make_user())
    for url in ("/admin/audit", "/admin/users", f"/admin/users/{target.id}", "/admin/notices"):
        assert client.get(url).status_code == 404, url
    assert db.session.scalar(db.select(AuditEvent).filter_by(action="staff.viewed_user")) is None


def test_staff_posts_are_404_for_everyone_else(app, client, make_user, login_as, mailbox):
    from xometry_site.models import Notice, PrivacyRequest
    from xometry_site.services.privacy import requests as privacy_requests

    someone = make_user()
    req = privacy_requests.file_for_user(someone, privacy_requests.Draft("question"), "en")
    mailbox.clear()
    for who in (None, make_user()):
        if who is not None:
            login_as(who)
        assert client.get(f"/admin/requests/{req.id}").status_code == 404
        answer = {"status": "answered", "answer": "forged"}
        assert client.post(f"/admin/requests/{req.id}", data=answer).status_code == 404
        notice = {"title_zh": "t", "title_en": "t", "body_zh": "b", "body_en": "b"}
        assert client.post("/admin/notices", data={**notice, "audience": "all"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(PrivacyRequest, req.id).status == "open"
    assert db.session.scalar(db.select(Notice)) is None
    assert mailbox == []
