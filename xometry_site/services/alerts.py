"""Staff alerts: problems a person must look at, listed on /admin/ and mailed to staff.

One row per kind and subject ("drawing:12", "key:k1", "mail:verify_email", "quote:7"); the same
problem again counts up and moves `last_seen_at`, and staff get at most one mail per alert per
ALERT_MAIL_PERIOD (through the outbox, in the same transaction as the alert). Subjects are ids,
never personal data. `raise_alert` never raises: the page or job that found the problem goes on.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import StaffAlert, User
from ..models.base import utcnow
from .crypto import CorruptBlob, CorruptField
from .keyring import UnknownKey
from .storage import BlobNotFound

log = logging.getLogger(__name__)

DRAWING_INTEGRITY = "drawing_integrity"
UNKNOWN_KEY = "unknown_key"
OUTBOX_FAILED = "outbox_failed"
ANALYSIS_FAILED = "analysis_failed"
WECHATPAY_MISMATCH = "wechatpay_mismatch"
WECHATPAY_LATE_PAYMENT = "wechatpay_late_payment"
WECHATPAY_REFUND_FAILED = "wechatpay_refund_failed"
KIND_LABELS = {
    DRAWING_INTEGRITY: _l("A stored drawing failed its integrity check"),
    UNKNOWN_KEY: _l("A file is protected by a key this host's key ring does not have"),
    OUTBOX_FAILED: _l("A message could not be delivered after every retry"),
    ANALYSIS_FAILED: _l("A drawing analysis gave up; the quote waits for an engineer"),
    WECHATPAY_MISMATCH: _l("A signed WeChat Pay notification does not match our records"),
    WECHATPAY_LATE_PAYMENT: _l("A WeChat payment arrived for an order that takes no payment"),
    WECHATPAY_REFUND_FAILED: _l("A WeChat Pay refund could not be made"),
}
DEFAULT_MAIL_PERIOD = 86400


def raise_alert(kind: str, subject: str, now: datetime | None = None) -> None:
    """Record (or count again) an alert and mail staff once per period; never raises."""
    from .outbox import own_session

    now = now or utcnow()
    log.warning("alert.raised kind=%s subject=%s", kind, subject)
    try:
        with own_session() as session:
            alert_id = _count(session, kind, subject, now)
            if _claim_mail(session, alert_id, now):
                _mail(session, kind, subject, alert_id)
            session.commit()
    except Exception:  # the alert must not turn a friendly page into an error page
        log.exception("alert.failed kind=%s subject=%s", kind, subject)


def _count(session: Session, kind: str, subject: str, now: datetime) -> int:
    """Count the alert up, or create it (two raisers at once: one inserts, the other counts)."""
    for _attempt in range(2):
        alert_id = session.scalar(
            sa.update(StaffAlert)
            .where(StaffAlert.kind == kind, StaffAlert.subject == subject)
            .values(count=StaffAlert.count + 1, last_seen_at=now, resolved_at=None)
            .returning(StaffAlert.id)
        )
        if alert_id is not None:
            return alert_id
        try:
            with session.begin_nested():
                alert = StaffAlert(
                    kind=kind, subject=subject, count=1, first_seen_at=now, last_seen_at=now
                )
                session.add(alert)
            return alert.id
        except IntegrityError:  # another process created it between our UPDATE and INSERT
            continue
    raise RuntimeError("staff alert neither updated nor inserted")


def _claim_mail(session: Session, alert_id: int, now: datetime) -> bool:
    """Whether this raiser mails: the alert was never mailed, or not within the period."""
    period = int(current_app.config.get("ALERT_MAIL_PERIOD") or DEFAULT_MAIL_PERIOD)
    cutoff = now - timedelta(seconds=period)
    claimed = session.execute(
        sa.update(StaffAlert)
        .where(
            StaffAlert.id == alert_id,
            sa.or_(StaffAlert.mailed_at.is_(None), StaffAlert.mailed_at < cutoff),
        )
        .values(mailed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    return claimed == 1


def recipients(session: Session) -> list[str]:
    """STAFF_NOTIFY_EMAIL (comma-separated) if set, else every active staff account."""
    configured = current_app.config.get("STAFF_NOTIFY_EMAIL")
    if configured:
        return [a.strip() for a in str(configured).split(",") if a.strip()]
    staff = session.scalars(sa.select(User).filter_by(is_staff=True))
    return [u.email for u in staff if u.email and u.is_active]


def _mail(session: Session, kind: str, subject: str, alert_id: int) -> None:
    from .mail import external_url, send_mail

    alert = session.get(StaffAlert, alert_id)
    for address in recipients(session):
        send_mail(
            address,
            "staff_alert",
            "zh_CN",
            db_session=session,
            kind=KIND_LABELS.get(kind, kind),
            subject_key=subject,
            count=alert.count,
            link=external_url("admin.index"),
        )


def open_alerts(session: Session, limit: int = 50) -> list[StaffAlert]:
    """Unresolved alerts, most recent first (the staff dashboard)."""
    return list(
        session.scalars(
            sa.select(StaffAlert)
            .where(StaffAlert.resolved_at.is_(None))
            .order_by(StaffAlert.last_seen_at.desc(), StaffAlert.id.desc())
            .limit(limit)
        )
    )


def resolve(session: Session, alert_id: int) -> bool:
    """A person has dealt with it; the next occurrence opens it again (and mails again)."""
    done = session.execute(
        sa.update(StaffAlert)
        .where(StaffAlert.id == alert_id, StaffAlert.resolved_at.is_(None))
        .values(resolved_at=utcnow(), mailed_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return done == 1


# --- drawings that cannot be read back -------------------------------------------------------

UNAVAILABLE, DAMAGED = "unavailable", "damaged"


def unreadable_drawing(drawing_id: int, key_id: str | None, error: Exception) -> str:
    """Alert staff about a drawing that could not be read; tell the page what to say.

    A key this host's ring does not hold (a host with an old ring) or a storage outage is
    "unavailable": the file is intact, try later. A failed check, a destroyed key or a missing
    blob is "damaged".
    """
    if isinstance(error, UnknownKey):
        raise_alert(UNKNOWN_KEY, f"key:{key_id}")
        return UNAVAILABLE
    if isinstance(error, (CorruptBlob, CorruptField, BlobNotFound, FileNotFoundError)):
        raise_alert(DRAWING_INTEGRITY, f"drawing:{drawing_id}")
        return DAMAGED
    return UNAVAILABLE  # storage unreachable: nothing is known to be wrong with the file
