"""Messages on their way out (mail, SMS) and the alerts that call a person.

An `OutboxMessage` is written in the same transaction as the event that causes it and delivered from
the table (services/outbox.py): Redis only carries the id, so a lost job loses nothing. Its content
is encrypted with the key ring (it holds names, links and codes); the recipient stays readable so
retention and erasure can find it. `StaffAlert` rows count repeats of one problem (kind + subject).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..services.crypto import EncryptedText
from .base import UTCDateTime, new_token, utcnow

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


class OutboxMessage(db.Model):
    """One mail or text message for one recipient, with its delivery bookkeeping."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # one key per message: the Message-ID of the mail, the RQ job id, and what a claim names
    key: Mapped[str] = mapped_column(String(64), unique=True, nullable=False, default=new_token)
    channel: Mapped[str] = mapped_column(String(8), nullable=False)  # "mail" | "sms"
    purpose: Mapped[str] = mapped_column(String(40), nullable=False)  # template, "sms_code"…
    recipient: Mapped[str] = mapped_column(String(320), nullable=False, index=True)  # "" once done
    content: Mapped[str | None] = mapped_column(EncryptedText())  # emptied once sent or given up
    status: Mapped[str] = mapped_column(String(12), nullable=False, default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # a code's lifetime
    last_error: Mapped[str | None] = mapped_column(String(200))  # exception class, SMTP code
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:  # no address in reprs: they end up in logs
        return f"<OutboxMessage {self.id} {self.channel} {self.status}>"


class StaffAlert(db.Model):
    """A problem a person must look at; the same kind and subject again only counts up."""

    __tablename__ = "staff_alerts"
    __table_args__ = (UniqueConstraint("kind", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    subject: Mapped[str] = mapped_column(String(120), nullable=False)  # "drawing:12", "key:k1"…
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
