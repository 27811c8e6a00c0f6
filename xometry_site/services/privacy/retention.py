"""Retention (policy 3.1): `flask privacy purge` erases or anonymises what has outlived its purpose.

Each step is idempotent (it only touches rows that are still due) and works in batches. A unique
row in `purge_locks` keeps two purges from running at once; row claims (FOR UPDATE SKIP LOCKED on
PostgreSQL, conditional updates everywhere) keep a purge and an erasure job from doing the same
work twice. Periods are settings (RETENTION_*), listed in the README and on the deregister page.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import (
    AuditEvent,
    Consent,
    DataExport,
    PrivacyRequest,
    Provision,
    PurgeLock,
    Quote,
    SignInEvent,
    User,
)
from ...models.base import utcnow
from . import erasure, erasure_terms

log = logging.getLogger(__name__)
LOCK_NAME = "retention"
LOCK_TTL = timedelta(hours=1)
BATCH = 200


@dataclass
class PurgeReport:
    """How many rows each step removed or anonymised, in order."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, step: str, count: int) -> None:
        self.counts[step] = self.counts.get(step, 0) + count

    def lines(self) -> list[str]:
        return [f"{step}: {count}" for step, count in self.counts.items()]


class PurgeBusy(Exception):
    """Another purge holds the lock."""


def _days(name: str) -> timedelta:
    return timedelta(days=current_app.config[name])


# --- the lock ------------------------------------------------------------------------------------


def acquire_lock(holder: str, now: datetime) -> bool:
    """Insert the lock row; take it over only if its holder's time ran out (a crashed purge)."""
    try:
        db.session.execute(
            sa.insert(PurgeLock).values(
                name=LOCK_NAME, holder=holder, acquired_at=now, expires_at=now + LOCK_TTL
            )
        )
        db.session.commit()
        return True
    except IntegrityError:
        db.session.rollback()
    taken = db.session.execute(
        sa.update(PurgeLock)
        .where(PurgeLock.name == LOCK_NAME, PurgeLock.expires_at < now)
        .values(holder=holder, acquired_at=now, expires_at=now + LOCK_TTL)
    ).rowcount
    db.session.commit()
    return taken == 1


def release_lock(holder: str) -> None:
    """Let the next purge run (only our own lock, never one taken over meanwhile)."""
    db.session.execute(
        sa.delete(PurgeLock).where(PurgeLock.name == LOCK_NAME, PurgeLock.holder == holder)
    )
    db.session.commit()


# --- the purge -----------------------------------------------------------------------------------


def purge(now: datetime | None = None) -> PurgeReport:
    """Run every retention step once; raises PurgeBusy when another purge is running."""
    now = now or utcnow()
    holder = secrets.token_hex(8)
    if not acquire_lock(holder, now):
        raise PurgeBusy
    report = PurgeReport()
    try:
        for name, step in STEPS:
            report.add(name, step(now))
    finally:
        db.session.rollback()
        release_lock(holder)
    log.info("retention.purge %s", " ".join(f"{k}={v}" for k, v in report.counts.items()))
    return report


def erase_deregistered(now: datetime) -> int:
    """Deregistered accounts past their erasure date (cooling-off over, or a minor's)."""
    done = 0
    while ids := erasure.due_accounts(now, BATCH):
        erased = [uid for uid in ids if erasure.erase_account(uid, now=now) is not None]
        done += len(erased)
        if not erased:  # the rest is claimed by a concurrent job
            break
    return done


def erase_unverified_accounts(now: datetime) -> int:
    """Accounts whose e-mail or phone was never verified, older than the retention period."""
    cutoff = now - _days("RETENTION_UNVERIFIED_ACCOUNT_DAYS")
    ids = db.session.scalars(
        sa.select(User.id).where(
            User.email_verified_at.is_(None),
            User.phone_verified_at.is_(None),
            User.is_staff.is_(False),
            User.deregistered_at.is_(None),
            User.erased_at.is_(None),
            User.created_at < cutoff,
        )
    ).all()
    done = 0
    for uid in ids:
        claimed = db.session.execute(
            sa.update(User)
            .where(User.id == uid, User.deregistered_at.is_(None))
            .values(deregistered_at=now, erase_after=now)
        ).rowcount
        db.session.commit()
        if claimed and erasure.erase_account(uid, now=now, notify=False) is not None:
            done += 1
    return done


def _claim_ids(query: sa.Select) -> list[int]:
    """Row ids to work on, skipping rows another transaction holds (PostgreSQL)."""
    return list(db.session.scalars(query.limit(BATCH).with_for_update(skip_locked=True)))


def delete_abandoned_quotes(now: datetime) -> int:
    """Quotes never ordered and untouched for the retention period (default 180 days)."""
    cutoff = now - _days("RETENTION_ABANDONED_QUOTE_DAYS")
    query = sa.select(Quote.id).where(Quote.status != "ordered", Quote.updated_at < cutoff)
    done = 0
    while ids := _claim_ids(query.order_by(Quote.id)):
        done += erasure.delete_quote_rows(ids)
    return done


def delete_expired_orders(now: datetime) -> int:
    """Orders of erased accounts once the legal period (E-Commerce Law art. 31) is over."""
    cutoff = erasure_terms.order_retention_cutoff(now)
    erased = sa.select(User.id).where(User.erased_at.is_not(None))
    query = sa.select(Quote.id).where(
        Quote.status == "ordered",
        Quote.user_id.in_(erased),
        sa.func.coalesce(Quote.ordered_at, Quote.updated_at) < cutoff,
    )
    done = 0
    while ids := _claim_ids(query.order_by(Quote.id)):
        done += erasure.delete_quote_rows(ids)
    return done


def delete_expired_exports(now: datetime) -> int:
    """Copies past their 7 days, and failed attempts as old."""
    cutoff = now - _days("RETENTION_EXPORT_DAYS")
    query = sa.select(DataExport.id).where(
        sa.or_(
            DataExport.expires_at < now,
            sa.and_(DataExport.status != "ready", DataExport.requested_at < cutoff),
        )
    )
    done = 0
    while ids := _claim_ids(query.order_by(DataExport.id)):
        blobs = [
            b
            for b in db.session.scalars(sa.select(DataExport.blob_id).where(DataExport.id.in_(ids)))
            if b
        ]
        done += db.session.execute(sa.delete(DataExport).where(DataExport.id.in_(ids))).rowcount
        db.session.commit()
        erasure.destroy_blobs(blobs)
    return done


def _delete_where(model, *conditions) -> int:
    count = db.session.execute(sa.delete(model).where(*conditions)).rowcount
    db.session.commit()
    return count


def delete_old_sign_ins(now: datetime) -> int:
    """Sign-in history is kept only as long as it helps secure the account."""
    cutoff = now - _days("RETENTION_SIGN_IN_EVENT_DAYS")
    return _delete_where(SignInEvent, SignInEvent.created_at < cutoff)


def delete_unverified_requests(now: datetime) -> int:
    """Visitor requests whose e-mail code was never typed."""
    cutoff = now - timedelta(hours=current_app.config["RETENTION_UNVERIFIED_REQUEST_HOURS"])
    return _delete_where(
        PrivacyRequest, PrivacyRequest.status == "unverified", PrivacyRequest.created_at < cutoff
    )


def delete_phone_codes(now: datetime) -> int:
    """Phone verification codes (with the number) once they are long expired."""
    table = db.metadata.tables.get("phone_verifications")
    if table is None:
        return 0
    cutoff = now - timedelta(hours=current_app.config["RETENTION_PHONE_CODE_HOURS"])
    count = db.session.execute(sa.delete(table).where(table.c.created_at < cutoff)).rowcount
    db.session.commit()
    return count


def delete_ended_api_sessions(now: datetime) -> int:
    """Mini Program sign-ins that can no longer be used (expired, or their account signed out
    everywhere), with the WeChat identity of any first sign-in that never registered."""
    from ..accounts.api_tokens import purge_expired

    return purge_expired(now)


def delete_old_evidence(now: datetime) -> int:
    """Pseudonymised consent evidence and closed requests, after the evidence period."""
    cutoff = now - _days("RETENTION_EVIDENCE_DAYS")
    count = _delete_where(Consent, Consent.user_id.is_(None), Consent.withdrawn_at < cutoff)
    return count + _delete_where(
        PrivacyRequest,
        PrivacyRequest.status.in_(("answered", "declined")),
        PrivacyRequest.answered_at < cutoff,
    )


def delete_old_provisions(now: datetime) -> int:
    """Records of what went to whom (PIPL art. 56: at least three years), once the account is
    erased and the evidence period is over; a live account keeps its history."""
    cutoff = now - _days("RETENTION_EVIDENCE_DAYS")
    erased = sa.select(User.id).where(User.erased_at.is_not(None))
    return _delete_where(Provision, Provision.user_id.in_(erased), Provision.provided_at < cutoff)


def delete_old_audit_events(now: datetime) -> int:
    """The accountability log after its period (kept longer than the six months of Cybersecurity Law art. 21)."""
    cutoff = now - _days("RETENTION_AUDIT_DAYS")
    return _delete_where(AuditEvent, AuditEvent.created_at < cutoff)


def delete_old_messages(now: datetime) -> int:
    """Sent and failed mail and texts (recipient and times by then) after OUTBOX_RETENTION_DAYS."""
    from ..outbox import delete_old

    return delete_old(now)


STEPS: tuple[tuple[str, Callable[[datetime], int]], ...] = (
    ("deregistered accounts erased", erase_deregistered),
    ("unverified accounts erased", erase_unverified_accounts),
    ("abandoned quotes deleted", delete_abandoned_quotes),
    ("orders past their legal period deleted", delete_expired_orders),
    ("expired copies deleted", delete_expired_exports),
    ("old sign-in events deleted", delete_old_sign_ins),
    ("unconfirmed requests deleted", delete_unverified_requests),
    ("old phone codes deleted", delete_phone_codes),
    ("ended Mini Program sign-ins deleted", delete_ended_api_sessions),
    ("old consent evidence and requests deleted", delete_old_evidence),
    ("old records of provisions deleted", delete_old_provisions),
    ("old audit events deleted", delete_old_audit_events),
    ("old outbox messages deleted", delete_old_messages),
)
