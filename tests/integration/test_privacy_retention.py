"""Retention (policy 3.1): `flask privacy purge` removes what expired, once, even when run twice."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from privacy_support import add_drawing, add_quote, storage

from xometry_site.extensions import db
from xometry_site.models import (
    AuditEvent,
    Drawing,
    PrivacyRequest,
    PurgeLock,
    Quote,
    SignInEvent,
    User,
)
from xometry_site.services.privacy import erasure, retention

NOW = datetime.now(UTC)


def _ago(**delta) -> datetime:
    return NOW - timedelta(**delta)


def test_purge_erases_what_expired_and_prints_it(app, make_user, runner):
    stale = make_user(email_verified_at=None, created_at=_ago(days=31))
    fresh = make_user(email_verified_at=None, created_at=_ago(days=29))
    verified = make_user(created_at=_ago(days=400))
    abandoned = add_quote(verified, status="quoted")
    old_drawing = add_drawing(verified, b"old", quote=abandoned)
    abandoned.updated_at = _ago(days=181)
    ordered = add_quote(verified, status="ordered", ordered_at=_ago(days=300))
    ordered.updated_at = _ago(days=300)
    recent = add_quote(verified, status="quoted")
    db.session.add_all(
        [
            SignInEvent(user_id=verified.id, method="password", created_at=_ago(days=181)),
            SignInEvent(user_id=verified.id, method="password", created_at=_ago(days=10)),
            PrivacyRequest(
                email="x@example.com", kind="other", status="unverified", created_at=_ago(hours=25)
            ),
        ]
    )
    db.session.commit()
    blob = old_drawing.blob_id
    ids = {"stale": stale.id, "fresh": fresh.id, "abandoned": abandoned.id}

    result = runner.invoke(args=["privacy", "purge"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "unverified accounts erased: 1" in out
    assert "abandoned quotes deleted: 1" in out
    assert "old sign-in events deleted: 1" in out
    assert "unconfirmed requests deleted: 1" in out

    db.session.expire_all()
    assert db.session.get(User, ids["stale"]).erased_at is not None
    assert db.session.get(User, ids["stale"]).email is None
    assert db.session.get(User, ids["fresh"]).erased_at is None
    assert db.session.get(Quote, ids["abandoned"]) is None
    assert not storage().exists(blob)
    assert db.session.get(Quote, ordered.id) is not None
    assert db.session.get(Quote, recent.id) is not None
    assert db.session.scalar(db.select(db.func.count(SignInEvent.id))) == 1

    # idempotent: nothing left to do
    again = runner.invoke(args=["privacy", "purge"]).output
    report = [line for line in again.splitlines() if line and " INFO " not in line]
    assert len(report) == len(retention.STEPS)
    assert all(line.endswith(": 0") for line in report), again


def test_orders_of_erased_accounts_go_when_the_legal_period_ends(app, make_user):
    gone = make_user()
    old_order = add_quote(gone, status="ordered", ordered_at=_ago(days=3 * 365 + 2))
    drawing = add_drawing(gone, b"order", quote=old_order)
    new_order = add_quote(gone, status="ordered", ordered_at=_ago(days=30))
    gone.deregistered_at = gone.erase_after = _ago(days=1)
    db.session.commit()
    blob, old_id, new_id = drawing.blob_id, old_order.id, new_order.id
    retention.purge()
    db.session.expire_all()
    assert db.session.get(Quote, old_id) is None and not storage().exists(blob)
    assert db.session.get(Quote, new_id) is not None  # still within three years


def test_a_second_purge_waits_for_the_first(app, runner):
    db.session.add(
        PurgeLock(name="retention", holder="someone", expires_at=NOW + timedelta(hours=1))
    )
    db.session.commit()
    assert "another purge is running" in runner.invoke(args=["privacy", "purge"]).output
    # a crashed purge's lock expires and is taken over
    lock = db.session.get(PurgeLock, "retention")
    lock.expires_at = NOW - timedelta(minutes=1)
    db.session.commit()
    assert "another purge is running" not in runner.invoke(args=["privacy", "purge"]).output
    assert db.session.get(PurgeLock, "retention") is None  # released


def test_concurrent_erasures_of_one_account_erase_it_once(app, make_user):
    users = [make_user() for _ in range(3)]
    for user in users:
        user.deregistered_at = user.erase_after = _ago(minutes=5)
        add_drawing(user, b"concurrent")
    db.session.commit()
    ids = [u.id for u in users]
    errors: list[BaseException] = []

    def worker():
        with app.app_context():
            try:
                for uid in ids:
                    erasure.erase_account(uid)
            except Exception as exc:  # SQLite may refuse a second writer: that run does nothing
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    db.session.expire_all()
    for uid in ids:
        assert db.session.get(User, uid).erased_at is not None
        erased_events = db.session.scalar(
            db.select(db.func.count(AuditEvent.id)).filter_by(
                subject_id=uid, action="account.erased"
            )
        )
        assert erased_events == 1
    assert db.session.scalar(db.select(db.func.count(Drawing.id))) == 0
    assert len(errors) <= 1


def test_two_purges_started_together_do_the_work_once(app, make_user):
    users = [make_user() for _ in range(3)]
    blobs = []
    for user in users:
        user.deregistered_at = user.erase_after = _ago(minutes=5)
        blobs.append(add_drawing(user, b"purged twice?").blob_id)
    abandoned = add_quote(make_user(), status="quoted")
    abandoned.updated_at = _ago(days=200)
    db.session.commit()
    ids = [u.id for u in users]
    start = threading.Barrier(2)
    reports: list = []
    errors: list[BaseException] = []

    def run_purge():
        with app.app_context():
            try:
                start.wait(10)
                reports.append(retention.purge().counts)
            except retention.PurgeBusy:
                reports.append("busy")
            except Exception as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run_purge) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    done = [r for r in reports if r != "busy"]
    assert sum(r["deregistered accounts erased"] for r in done) == 3
    assert sum(r["abandoned quotes deleted"] for r in done) == 1
    db.session.expire_all()
    for uid in ids:
        events = db.session.scalar(
            db.select(db.func.count(AuditEvent.id)).filter_by(
                subject_id=uid, action="account.erased"
            )
        )
        assert events == 1
    assert not any(storage().exists(b) for b in blobs)
    assert db.session.get(PurgeLock, "retention") is None


def test_orders_are_kept_three_calendar_years_across_a_leap_day(app, make_user):
    gone = make_user()
    order = add_quote(gone, status="ordered", ordered_at=datetime(2023, 3, 1, 12, tzinfo=UTC))
    gone.deregistered_at = gone.erase_after = datetime(2023, 4, 1, tzinfo=UTC)
    db.session.commit()
    order_id = order.id
    # 3 x 365 days after 1 March 2023 is 28 February 2026 (29 February 2024 lies between):
    # one day short of the three years the E-Commerce Law asks for
    retention.purge(datetime(2026, 2, 28, 13, tzinfo=UTC))
    assert db.session.get(Quote, order_id) is not None
    retention.purge(datetime(2026, 3, 1, 13, tzinfo=UTC))
    db.session.expire_all()
    assert db.session.get(Quote, order_id) is None
