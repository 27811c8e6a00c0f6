"""Security of the privacy center: CSRF on every POST, no-store on every page, 404 for others' ids.

With CSRF protection on (as in production), a form posted without its token is refused with 400 and
changes nothing; the same form with the token from the page succeeds, so the refusal is the token's.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from conftest import sign_in
from privacy_support import add_drawing, add_quote

from xometry_site.extensions import db
from xometry_site.models import (
    Consent,
    DataExport,
    Drawing,
    Notice,
    NoticeReceipt,
    PrivacyRequest,
    Quote,
    User,
)
from xometry_site.services.privacy import consents, erasure
from xometry_site.services.privacy import requests as privacy_requests


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def token_on(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _records(user) -> dict:
    """One of everything a privacy POST can change."""
    consents.record(user, "subscription", ip=None, source="test")
    drawing = add_drawing(user)
    quote = add_quote(user)
    notice = Notice(title_zh="通知", title_en="Notice", body_zh="正文", body_en="Body")
    db.session.add(notice)
    db.session.flush()
    db.session.add(NoticeReceipt(notice_id=notice.id, user_id=user.id))
    req = privacy_requests.file_for_user(user, privacy_requests.Draft("question", "?"), "en")
    db.session.commit()
    return {"drawing": drawing.id, "quote": quote.ref, "notice": notice.id, "request": req.id}


def _state(user_id: int) -> tuple:
    db.session.expire_all()
    user = db.session.get(User, user_id)
    return (
        user.deregistered_at,
        user.is_minor,
        db.session.scalar(db.select(db.func.count(DataExport.id))),
        db.session.scalar(
            db.select(db.func.count(Consent.id)).filter(Consent.withdrawn_at.is_not(None))
        ),
        db.session.scalar(db.select(db.func.count(Consent.id))),
        [(d.id, d.deleted_at) for d in db.session.scalars(db.select(Drawing))],
        db.session.scalar(db.select(db.func.count(Quote.id))),
        [(r.id, r.status) for r in db.session.scalars(db.select(PrivacyRequest))],
        [r.dismissed_at for r in db.session.scalars(db.select(NoticeReceipt))],
    )


USER_POSTS = [
    ("/privacy/export", {}),
    ("/privacy/consents", {"kind": "subscription"}),
    ("/privacy/deregister", {"confirm": "y"}),
    ("/privacy/requests", {"kind": "question", "details": "hello"}),
    ("/privacy/drawings/delete-all", {"confirm": "y"}),
    ("/privacy/drawings/{drawing}/delete", {}),
    ("/privacy/quotes/{quote}/delete", {}),
    ("/privacy/policy/accept", {}),
    ("/privacy/notices/{notice}/dismiss", {}),
]


def test_every_privacy_post_without_its_token_is_refused(app, client, make_user):
    user, staff = make_user(), make_user(is_staff=True)
    ids = _records(user)
    sign_in(client, user)
    before = _state(user.id)
    for path, data in USER_POSTS:
        response = client.post(path.format(**ids), data=data)
        assert response.status_code == 400, path
    staff_client = app.test_client()
    sign_in(staff_client, staff)
    for path, data in [
        (f"/admin/requests/{ids['request']}", {"status": "answered", "answer": "done"}),
        ("/admin/notices", {"title_zh": "t", "title_en": "t", "body_zh": "b", "body_en": "b"}),
        (f"/admin/users/{user.id}/minor", {}),
    ]:
        assert staff_client.post(path, data=data).status_code == 400, path
    assert _state(user.id) == before


def test_the_same_posts_with_the_token_work(client, user, login_as):
    """The control: the refusals above are about the token, not the forms."""
    ids = _records(user)
    login_as(user)
    page = client.get("/privacy?lang=en").get_data(as_text=True)
    token = token_on(page)
    assert client.post("/privacy/export", data={"csrf_token": token}).status_code == 302
    response = client.post(f"/privacy/quotes/{ids['quote']}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    token = token_on(client.get("/privacy/consents").get_data(as_text=True))
    client.post("/privacy/consents", data={"kind": "subscription", "csrf_token": token})
    assert consents.active(user, "subscription") is None
    token = token_on(client.get("/privacy/deregister").get_data(as_text=True))
    response = client.post("/privacy/deregister", data={"confirm": "y", "csrf_token": token})
    assert response.status_code == 200
    assert db.session.get(User, user.id).deregistered_at is not None


def test_visitor_request_and_code_need_their_token(client, mailbox):
    data = {"kind": "question", "email": "v@example.com"}
    assert client.post("/privacy/requests", data=data).status_code == 400
    assert mailbox == []
    token = token_on(client.get("/privacy/requests").get_data(as_text=True))
    assert client.post("/privacy/requests", data={**data, "csrf_token": token}).status_code == 302
    assert client.post("/privacy/requests/confirm", data={"code": "123456"}).status_code == 400
    assert client.post("/privacy/requests/confirm/resend", data={}).status_code == 400
    assert len(mailbox) == 1  # no second code went out


def test_cancel_link_needs_the_token_of_its_page(app, client, user, login_as):
    login_as(user)
    token = token_on(client.get("/privacy/deregister").get_data(as_text=True))
    client.post("/privacy/deregister", data={"confirm": "y", "csrf_token": token})
    db.session.expire_all()
    path = f"/privacy/deregister/cancel/{erasure.cancel_token(db.session.get(User, user.id))}"
    visitor = app.test_client()
    assert visitor.post(path, data={}).status_code == 400
    assert db.session.get(User, user.id).deregistered_at is not None


PAGES = [
    "/privacy",
    "/privacy/consents",
    "/privacy/requests",
    "/privacy/deregister",
    "/privacy/drawings/delete-all",
    "/privacy/policy/decline",
    "/privacy/requests/confirm",
    "/admin/requests",
    "/admin/requests/{request}",
    "/admin/notices",
    "/admin/audit",
    "/admin/users",
]


def test_every_privacy_page_and_the_download_are_not_stored(app, client, make_user):
    staff = make_user(is_staff=True)
    ids = _records(staff)
    sign_in(client, staff)
    export = DataExport(user_id=staff.id, status="pending", requested_at=datetime.now(UTC))
    db.session.add(export)
    db.session.commit()
    from xometry_site.services.privacy import export as exports

    exports.build_export(export.id)
    db.session.expire_all()
    visitor = app.test_client()
    token = token_on(visitor.get("/privacy/requests").get_data(as_text=True))
    visitor.post(
        "/privacy/requests",
        data={"kind": "other", "email": "w@example.com", "csrf_token": token},
    )
    for path in [*PAGES, f"/privacy/export/{export.public_id}"]:
        who = visitor if path.endswith("/confirm") else client
        response = who.get(path.format(**ids))
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path


def test_another_users_quote_cannot_be_deleted(client, make_user, login_as):
    owner, intruder = make_user(), make_user()
    quote = add_quote(owner)
    db.session.commit()
    login_as(intruder)
    token = token_on(client.get("/privacy").get_data(as_text=True))
    response = client.post(f"/privacy/quotes/{quote.ref}/delete", data={"csrf_token": token})
    assert response.status_code == 404
    assert db.session.get(Quote, quote.id) is not None


def test_a_visitors_pending_request_is_reachable_only_from_their_browser(app, client, make_user):
    token = token_on(client.get("/privacy/requests").get_data(as_text=True))
    client.post(
        "/privacy/requests",
        data={"kind": "other", "email": "v@example.com", "csrf_token": token},
    )
    assert client.get("/privacy/requests/confirm").status_code == 200
    assert app.test_client().get("/privacy/requests/confirm").status_code == 404
    pending = db.session.scalar(db.select(PrivacyRequest))
    staff = app.test_client()
    sign_in(staff, make_user(is_staff=True))
    assert staff.get(f"/admin/requests/{pending.id}").status_code == 404  # not filed yet
