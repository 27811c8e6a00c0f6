"""The transactional outbox: every mail and text message is a row before it is a job.

`add()` puts an `OutboxMessage` into the caller's session; it becomes real when the caller commits
its event, and is forgotten if the caller rolls back. After that commit each new row's id is
queued (RQ on Redis) or delivered at once (inline, development and tests). Delivery claims the row
with one conditional UPDATE (pending and due → sending; a "sending" claim older than
OUTBOX_CLAIM_TIMEOUT counts as a dead deliverer's), so two deliverers racing send it once; the row
is marked sent only after the SMTP server (or the SMS provider) accepted it. A failure puts it back
to pending with exponential backoff; after OUTBOX_MAX_ATTEMPTS it is failed and staff are alerted.
`flask outbox retry` and the scheduler (every minute) deliver whatever is due, so a job lost with
Redis costs a minute, not the message.

Delivery works in its own database session: it runs after the caller's commit (when that session
may not emit SQL) and must never commit anything of the caller's.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..extensions import db
from ..models.base import new_token, utcnow
from ..models.outbox import FAILED, PENDING, SENDING, SENT, OutboxMessage
from .jobs import enqueue, task

log = logging.getLogger(__name__)

MAIL, SMS = "mail", "sms"
_NEW_IDS = "outbox_new_ids"  # session.info key: rows flushed in the current transaction
DEFAULTS = {
    "OUTBOX_MAX_ATTEMPTS": 8,
    "OUTBOX_RETRY_SECONDS": 60,
    "OUTBOX_RETRY_MAX_SECONDS": 3600,
    "OUTBOX_CLAIM_TIMEOUT": 600,
    "OUTBOX_RETENTION_DAYS": 30,
}


def setting(name: str) -> int:
    return int(current_app.config.get(name) or DEFAULTS[name])


# --- writing --------------------------------------------------------------------------------


def add(
    channel: str,
    recipient: str,
    content: str,
    purpose: str,
    *,
    key: str | None = None,
    expires_at: datetime | None = None,
    session: Session | None = None,
) -> OutboxMessage:
    """Put a message into `session` (the caller's by default); it leaves after the commit."""
    message = OutboxMessage(
        key=key or new_token(),
        channel=channel,
        purpose=purpose[:40],
        recipient=recipient,
        content=content,
        status=PENDING,
        attempts=0,
        next_attempt_at=utcnow(),
        expires_at=expires_at,
    )
    (session or db.session).add(message)
    return message


@event.listens_for(Session, "after_flush")
def _remember_new(session: Session, _flush_context: object) -> None:
    ids = [obj.id for obj in session.new if isinstance(obj, OutboxMessage)]
    if ids:
        session.info.setdefault(_NEW_IDS, []).extend(ids)


@event.listens_for(Session, "after_rollback")
def _forget_new(session: Session) -> None:
    session.info.pop(_NEW_IDS, None)


@event.listens_for(Session, "after_commit")
def _dispatch_new(session: Session) -> None:
    ids = session.info.pop(_NEW_IDS, None)
    if not ids or not has_app_context():
        return
    for message_id in ids:
        enqueue(deliver_job, message_id, queue="mail")


# --- delivering -----------------------------------------------------------------------------


@contextlib.contextmanager
def own_session() -> Iterator[Session]:
    """A session of our own on the app's engine, closed (and rolled back if unfinished) after."""
    session = Session(bind=db.engine, expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    stale = now - timedelta(seconds=setting("OUTBOX_CLAIM_TIMEOUT"))
    return sa.or_(
        sa.and_(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now),
        sa.and_(OutboxMessage.status == SENDING, OutboxMessage.claimed_at < stale),
    )


def backoff(attempts: int) -> timedelta:
    """OUTBOX_RETRY_SECONDS doubled with each failed attempt, at most OUTBOX_RETRY_MAX_SECONDS."""
    base = setting("OUTBOX_RETRY_SECONDS")
    return timedelta(
        seconds=min(base * 2 ** max(attempts - 1, 0), setting("OUTBOX_RETRY_MAX_SECONDS"))
    )


@task
def deliver_job(message_id: int) -> str:
    """The RQ job: deliver one message if it is still due (a duplicate job finds nothing to do)."""
    return deliver(message_id)


def deliver(message_id: int, now: datetime | None = None) -> str:
    """Claim, send, record: "sent", "retry", "failed", "expired" or "skipped" (not ours)."""
    now = now or utcnow()
    with own_session() as session:
        claimed = session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == message_id, _claimable(now))
            .values(status=SENDING, claimed_at=now, attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        session.commit()
        if claimed != 1:
            return "skipped"
        message = session.get(OutboxMessage, message_id)
        ours = sa.and_(
            OutboxMessage.id == message_id,
            OutboxMessage.status == SENDING,
            OutboxMessage.attempts == message.attempts,  # each claim counts: this one is ours
        )
        if message.expires_at is not None and message.expires_at <= now:
            _finish(session, ours, status=FAILED, last_error="expired", **_FORGET)
            log.info("outbox.expired message=%s channel=%s", message_id, message.channel)
            return "expired"
        try:
            _transmit(message)
        except Exception as error:  # any transport failure: the row says when to try again
            return _failed(session, message, ours, error, now)
        _finish(session, ours, status=SENT, sent_at=utcnow(), last_error=None, **_FORGET)
        log.info(
            "outbox.sent message=%s channel=%s purpose=%s attempt=%s",
            message_id,
            message.channel,
            message.purpose,
            message.attempts,
        )
        return "sent"


# once a message is sent or given up, the row keeps only what kind it was and when: no address
# (an erased account's farewell mail must not outlive it) and no content
_FORGET = {"recipient": "", "content": None}


def _finish(session: Session, ours: sa.ColumnElement[bool], **values: object) -> None:
    session.execute(
        sa.update(OutboxMessage)
        .where(ours)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _failed(
    session: Session,
    message: OutboxMessage,
    ours: sa.ColumnElement[bool],
    error: Exception,
    now: datetime,
) -> str:
    reason = describe(error)
    if message.attempts >= setting("OUTBOX_MAX_ATTEMPTS"):
        _finish(session, ours, status=FAILED, last_error=reason, **_FORGET)
        log.error(
            "outbox.gave_up message=%s channel=%s purpose=%s attempts=%s error=%s",
            message.id,
            message.channel,
            message.purpose,
            message.attempts,
            reason,
        )
        from .alerts import OUTBOX_FAILED, raise_alert

        raise_alert(OUTBOX_FAILED, f"{message.channel}:{message.purpose}")
        return "failed"
    retry_at = now + backoff(message.attempts)
    _finish(session, ours, status=PENDING, next_attempt_at=retry_at, last_error=reason)
    log.warning(
        "outbox.retry message=%s channel=%s attempt=%s error=%s next=%s",
        message.id,
        message.channel,
        message.attempts,
        reason,
        retry_at.isoformat(timespec="seconds"),
    )
    return "retry"


def describe(error: Exception) -> str:
    """What went wrong without personal data: the class, and an SMTP server's reply code."""
    code = getattr(error, "smtp_code", None) if isinstance(error, smtplib.SMTPException) else None
    return f"{type(error).__name__}{f' {code}' if code else ''}"[:200]


def _transmit(message: OutboxMessage) -> None:
    """Hand the content to the transport; returns only once the server or provider accepted it."""
    if message.content is None:
        raise ValueError("message has no content")
    if message.channel == MAIL:
        from .mail import outbox_bytes, transmit

        transmit(outbox_bytes(message.content, message.key))
    elif message.channel == SMS:
        from .sms import transmit as transmit_text

        transmit_text(message.recipient, message.content)
    else:
        raise ValueError(f"unknown channel {message.channel!r}")


def due_ids(now: datetime | None = None, limit: int = 500) -> list[int]:
    now = now or utcnow()
    with own_session() as session:
        return list(
            session.scalars(
                sa.select(OutboxMessage.id)
                .where(_claimable(now))
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
            )
        )


def deliver_due(now: datetime | None = None, limit: int = 500) -> Counter[str]:
    """Deliver every message that is due (lost jobs, retries, dead deliverers' claims)."""
    outcomes: Counter[str] = Counter()
    for message_id in due_ids(now, limit):
        outcomes[deliver(message_id, now)] += 1
    if outcomes:
        log.info("outbox.retried %s", " ".join(f"{k}={v}" for k, v in sorted(outcomes.items())))
    return outcomes


def outcome(message_id: int) -> str:
    """Where a message stands now: its status, or "retry" when a first attempt already failed."""
    with own_session() as session:
        row = session.execute(
            sa.select(OutboxMessage.status, OutboxMessage.attempts).where(
                OutboxMessage.id == message_id
            )
        ).first()
    if row is None:
        return "unknown"
    status, attempts = row
    return "retry" if status == PENDING and attempts > 0 else status


def delete_old(now: datetime) -> int:
    """Retention: sent and failed messages (only their kind and times by then) after the period."""
    cutoff = now - timedelta(days=setting("OUTBOX_RETENTION_DAYS"))
    count = db.session.execute(
        sa.delete(OutboxMessage).where(
            OutboxMessage.status.in_((SENT, FAILED)), OutboxMessage.created_at < cutoff
        )
    ).rowcount
    db.session.commit()
    return count
