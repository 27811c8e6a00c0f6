"""Deregistering (policy 5.6) and erasure (5.4): sessions end, sign-in is blocked, data is gone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import PASSWORD, sign_in
from privacy_support import (
    ID_NUMBER,
    add_drawing,
    add_quote,
    dump_database,
    fill_everything,
    links_in,
    messages_to,
    personal_strings,
    storage,
    text_of,
)

from xometry_site.extensions import db
from xometry_site.models import AuditEvent, Consent, Drawing, Quote, User
from xometry_site.services.privacy import erasure
from xometry_site.services.working_days import CHINA_TIME


def _deregister(client):
    return client.post("/privacy/deregister?lang=en", data={"confirm": "y"})


def _make_due(user):
    """Move the erasure date into the past, as if the cooling-off had run out."""
    db.session.expire_all()
    account = db.session.get(User, user.id)
    account.erase_after = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()


def test_deregistering_asks_for_the_password_again(client, user, login_as):
    login_as(user, fresh=False)
    response = client.get("/privacy/deregister")
    assert response.status_code == 302
    assert "/reauthenticate" in response.headers["Location"]
    response = client.post("/privacy/deregister", data={"confirm": "y"})
    assert "/reauthenticate" in response.headers["Location"]
    assert db.session.get(User, user.id).deregistered_at is None


def test_the_page_says_what_is_erased_and_what_is_kept_and_offers_a_copy(client, user, login_as):
    add_quote(user, status="ordered", ordered_at=datetime(2025, 3, 1, tzinfo=UTC))
    db.session.commit()
    login_as(user)
    response = client.get("/privacy/deregister?lang=en")
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "What we erase" in page
    assert "E-mail address" in page and "Shipping address" in page and "Bank account" in page
    assert "What the law makes us keep, and for how long" in page
    assert "E-Commerce Law, article 31" in page
    assert "2028" in page  # the order is kept three years after 2025-03-01
    assert "after 7 days" in page and "15 working days" in page
    assert 'action="/privacy/export"' in page


def test_a_confirmation_is_required(client, user, login_as):
    login_as(user)
    response = client.post("/privacy/deregister?lang=en", data={})
    assert response.status_code == 200
    assert "Tick the box to confirm." in response.get_data(as_text=True)
    assert db.session.get(User, user.id).deregistered_at is None


def test_deregistering_signs_out_everywhere_and_blocks_sign_in(
    app, client, user, login_as, mailbox
):
    login_as(user)
    second_device = app.test_client()

    sign_in(second_device, user)
    assert second_device.get("/privacy").status_code == 200
    old_cookie = client.get_cookie("session").value

    response = _deregister(client)
    assert response.status_code == 200
    assert "Your account is closed" in response.get_data(as_text=True)

    # this browser is signed out, the other device too, and an old cookie is useless
    assert client.get("/privacy").status_code == 302
    assert second_device.get("/privacy").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", old_cookie)
    assert replay.get("/privacy").status_code == 302
    # signing in again is refused
    fresh = app.test_client()
    response = fresh.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert fresh.get("/privacy").status_code == 302

    account = db.session.get(User, user.id)
    assert account.deregistered_at is not None
    assert account.erase_after - account.deregistered_at == timedelta(days=7)
    mail = messages_to(mailbox, user.email)
    assert (
        len(mail) == 1
        and "/privacy/deregister/cancel/" in mail[0].get_body(("plain",)).get_content()
    )
    assert db.session.scalar(
        db.select(AuditEvent).filter_by(subject_id=user.id, action="account.deregistered")
    )


def test_the_cancel_link_keeps_the_account(app, client, user, login_as, mailbox):
    login_as(user)
    client.get("/privacy")
    old_cookie = client.get_cookie("session").value
    _deregister(client)
    link = next(u for u in links_in(messages_to(mailbox, user.email)[0]) if "/cancel/" in u)
    path = link.split("localhost", 1)[1]
    visitor = app.test_client()
    page = visitor.get(path + "?lang=en").get_data(as_text=True)
    assert "Keep my account" in page
    assert db.session.get(User, user.id).deregistered_at is not None  # GET changes nothing
    visitor.post(path, data={})
    db.session.expire_all()
    assert db.session.get(User, user.id).deregistered_at is None
    replay = app.test_client()
    replay.set_cookie("session", old_cookie)
    assert replay.get("/privacy").status_code == 302  # keeping the account revives no session
    visitor.post("/login", data={"email": user.email, "password": PASSWORD})
    assert visitor.get("/privacy").status_code == 200
    # the link is spent: a second deregistration needs a new one
    assert app.test_client().get(path).status_code == 404


def test_a_forged_cancel_link_does_nothing(client):
    assert client.get("/privacy/deregister/cancel/not-a-token").status_code == 404


def test_erasure_removes_personal_data_and_drawings_but_keeps_pseudonymised_consents(
    app, client, user, login_as, mailbox, runner
):
    things = fill_everything(user)
    drawing_blob = things["drawing"].blob_id
    assert storage().exists(drawing_blob)
    secrets_before = personal_strings(user)
    dump = dump_database()
    assert all(value in dump for value in secrets_before)  # the check below can fail
    user_id, email = user.id, user.email
    login_as(user)
    client.post("/privacy/export", data={})  # a copy made before leaving goes too
    _deregister(client)

    # during the cooling-off nothing is erased
    result = runner.invoke(args=["privacy", "purge"])
    assert "deregistered accounts erased: 0" in result.output
    assert storage().exists(drawing_blob)

    _make_due(user)
    mailbox.clear()
    result = runner.invoke(args=["privacy", "purge"])
    assert result.exit_code == 0, result.output
    assert "deregistered accounts erased: 1" in result.output

    db.session.expire_all()
    dump = dump_database()
    leaks = [value for value in [*secrets_before, ID_NUMBER] if value in dump]
    assert leaks == []
    assert not storage().exists(drawing_blob)  # ciphertext gone, and its key with the row
    assert db.session.scalar(db.select(Drawing).filter_by(user_id=user_id)) is None
    assert list(storage().iter_ids()) == []  # the export's archive was destroyed as well

    stub = db.session.get(User, user_id)
    assert stub.erased_at is not None and stub.email is None and stub.password_hash is None
    kept = db.session.scalars(
        db.select(Consent).filter_by(subject_ref=erasure.pseudonym(user_id))
    ).all()
    assert {c.kind for c in kept} == {"policy", "adult"}
    assert all(c.user_id is None and c.ip_address is None for c in kept)
    assert all(c.policy_edition == "2024" and c.withdrawn_at for c in kept)

    last = messages_to(mailbox, email)
    assert len(last) == 1  # the last message to this address confirms the erasure
    assert "/privacy/deregister/cancel/" not in last[0].get_body(("plain",)).get_content()

    # idempotent: a second run (or a late job) finds nothing to do
    assert erasure.erase_account(user_id) is None
    assert "deregistered accounts erased: 0" in runner.invoke(args=["privacy", "purge"]).output


def test_orders_are_kept_by_law_and_other_quotes_go(app, client, user, login_as):
    ordered = add_quote(user, status="ordered", ordered_at=datetime.now(UTC))
    kept_drawing = add_drawing(user, b"order drawing", quote=ordered, filename="order.step")
    gone_drawing = add_drawing(user, b"abandoned drawing", filename="draft.step")
    kept_blob, gone_blob, gone_id = kept_drawing.blob_id, gone_drawing.blob_id, gone_drawing.id
    login_as(user)
    _deregister(client)
    _make_due(user)
    erasure.erase_account(user.id)
    db.session.expire_all()
    assert db.session.get(Quote, ordered.id) is not None
    assert db.session.get(Drawing, kept_drawing.id).wrapped_key is not None
    assert storage().exists(kept_blob)
    assert db.session.get(Drawing, gone_id) is None
    assert not storage().exists(gone_blob)


def test_staff_marking_a_minor_erases_the_account_at_once(
    app, client, make_user, login_as, mailbox
):
    minor = make_user()
    fill_everything(minor)
    staff = make_user(is_staff=True)
    login_as(staff)
    page = client.get(f"/admin/users/{minor.id}?lang=en").get_data(as_text=True)
    assert "Mark as a minor" in page
    response = client.post(f"/admin/users/{minor.id}/minor", data={})
    assert response.status_code == 302
    db.session.expire_all()
    account = db.session.get(User, minor.id)
    assert account.is_minor and account.erased_at is not None and account.email is None
    assert "李四收货" not in dump_database()
    assert (
        db.session.scalar(
            db.select(AuditEvent).filter_by(subject_id=minor.id, action="staff.marked_minor")
        ).actor_id
        == staff.id
    )


def test_only_staff_can_mark_a_minor(client, make_user, login_as):
    victim, someone = make_user(), make_user()
    login_as(someone)
    assert client.post(f"/admin/users/{victim.id}/minor", data={}).status_code == 404
    assert db.session.get(User, victim.id).deregistered_at is None


@pytest.mark.parametrize(
    ("cooling_off", "expected"),
    [
        (7, date(2024, 10, 4)),  # the cooling-off ends first
        (60, date(2024, 10, 23)),  # never later than 15 working days (National Day skipped)
    ],
)
def test_erasure_date_is_capped_at_15_working_days(app, cooling_off, expected):
    app.config["DEREGISTRATION_COOLING_OFF_DAYS"] = cooling_off
    start = datetime(2024, 9, 27, 2, 0, tzinfo=UTC)  # Friday 27 September, 10:00 in Shanghai
    assert erasure.erasure_date(start).astimezone(CHINA_TIME).date() == expected


def test_a_remember_me_cookie_is_useless_after_deregistering(app, client, user):
    client.post("/cookies", data={"accept_all": "1"})
    client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    remembered = client.get_cookie("remember_token")
    assert remembered is not None
    other = app.test_client()
    other.set_cookie("remember_token", remembered.value)
    assert other.get("/privacy").status_code == 200  # the cookie alone signs in: the check can fail
    _deregister(client)
    late = app.test_client()
    late.set_cookie("remember_token", remembered.value)
    assert late.get("/privacy").status_code == 302
    assert other.get("/privacy").status_code == 302


@pytest.fixture
def no_cooling_off(app):
    app.config["DEREGISTRATION_COOLING_OFF_DAYS"] = 0


def test_without_a_cooling_off_the_erasure_job_runs_at_once(
    no_cooling_off, client, user, login_as, mailbox
):
    drawing = add_drawing(user)
    blob, email = drawing.blob_id, user.email
    login_as(user)
    page = _deregister(client).get_data(as_text=True)
    assert "your data has been erased" in page and "Changed your mind?" not in page
    db.session.expire_all()
    assert db.session.get(User, user.id).erased_at is not None  # by the job, not a purge
    assert not storage().exists(blob)
    closed, erased = messages_to(mailbox, email)  # closed, then erased: nothing after that
    assert "/cancel/" not in text_of(closed)  # no link that could no longer keep the account
    assert "最后一封邮件" in text_of(erased)  # "the last message we send to this address"
