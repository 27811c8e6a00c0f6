"""Privacy rights in the database: exports, data requests, notices to users, the purge lock."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, new_token, utcnow

EXPORT_STATUSES = ("pending", "building", "ready", "failed")
REQUEST_KINDS = (
    "copy",
    "transfer",
    "correction",
    "deletion",
    "withdrawal",
    "question",
    "complaint",
    "other",
)
# unverified: an anonymous visitor has not typed the mailed code yet (no due date runs)
REQUEST_STATUSES = ("unverified", "open", "in_progress", "answered", "declined")
NOTICE_AUDIENCES = ("all", "selected")


class DataExport(db.Model):
    """A copy of a user's data (5.1): a ZIP stored encrypted, downloadable by its owner for 7 days."""

    __tablename__ = "data_exports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_token)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    status: Mapped[str] = mapped_column(String(16), default="pending", nullable=False)
    language: Mapped[str] = mapped_column(String(10), default="zh_CN", nullable=False)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    blob_id: Mapped[str | None] = mapped_column(String(32))
    kid: Mapped[str | None] = mapped_column(String(64))
    wrapped_dek: Mapped[bytes | None] = mapped_column(LargeBinary)
    size: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    drawing_count: Mapped[int | None] = mapped_column(Integer)
    # made by staff for a data request; a transfer (5.2) goes to the processor the customer
    # confirmed, by a link whose secret only the mail holds (SHA-256 here), good for one download
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("privacy_requests.id", ondelete="SET NULL"), index=True
    )
    recipient_email: Mapped[str | None] = mapped_column(String(254))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    collected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_transfer(self) -> bool:
        """For another processor (5.2): its link is mailed there, not to the owner."""
        return self.recipient_email is not None

    def __repr__(self) -> str:
        return f"<DataExport {self.id} {self.status}>"


class PrivacyRequest(db.Model):
    """A data-protection request (5.7), answered within 15 working days by China's calendar."""

    __tablename__ = "privacy_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_token)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    subject_ref: Mapped[str | None] = mapped_column(String(64), index=True)  # after erasure
    email: Mapped[str | None] = mapped_column(String(254))  # where the answer goes
    language: Mapped[str] = mapped_column(String(10), default="zh_CN", nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    processor: Mapped[str | None] = mapped_column(String(200))  # transfer: the recipient
    details: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", nullable=False)
    code_hash: Mapped[str | None] = mapped_column(String(64))  # anonymous e-mail check
    code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    code_attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decline_reason: Mapped[str | None] = mapped_column(String(16))  # DECLINE_REASONS (5.7)
    # staff recorded that the requester is the account's owner, and how (5.7 "verify your identity")
    identity_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    identity_verified_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    identity_method: Mapped[str | None] = mapped_column(String(16))  # IDENTITY_METHODS
    identity_note: Mapped[str | None] = mapped_column(String(500))
    # a transfer's recipient address, confirmed by the customer from a link to their own address
    processor_email: Mapped[str | None] = mapped_column(String(254))
    processor_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def identity_verified(self) -> bool:
        """Staff may act on the account for this request (correct, delete, deregister, export)."""
        return self.identity_verified_at is not None

    @property
    def is_closed(self) -> bool:
        """Answered or declined: no longer in the staff queue, never overdue."""
        return self.status in ("answered", "declined")

    def __repr__(self) -> str:
        return f"<PrivacyRequest {self.id} {self.kind} {self.status}>"


class Notice(db.Model):
    """A notice from us to users (3.2 incidents and the like), written in both languages."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title_zh: Mapped[str] = mapped_column(String(200), nullable=False)
    title_en: Mapped[str] = mapped_column(String(200), nullable=False)
    body_zh: Mapped[str] = mapped_column(Text, nullable=False)
    body_en: Mapped[str] = mapped_column(Text, nullable=False)
    audience: Mapped[str] = mapped_column(String(16), default="all", nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    receipts: Mapped[list[NoticeReceipt]] = relationship(
        back_populates="notice", cascade="all, delete-orphan"
    )

    def title(self, lang: str) -> str:
        """The title in the reader's language (Chinese unless they read English)."""
        return self.title_en if lang == "en" else self.title_zh

    def body(self, lang: str) -> str:
        """The text in the reader's language (Chinese unless they read English)."""
        return self.body_en if lang == "en" else self.body_zh


class NoticeReceipt(db.Model):
    """That a notice reached a user: mailed when, dismissed from the banner when."""

    __tablename__ = "notice_receipts"
    __table_args__ = (UniqueConstraint("notice_id", "user_id", name="uq_notice_receipts_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(
        ForeignKey("notices.id", ondelete="CASCADE"), index=True, nullable=False
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    texted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # SMS, or none: no phone
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    notice: Mapped[Notice] = relationship(back_populates="receipts")


class PurgeLock(db.Model):
    """One row per running purge: the primary key makes a second concurrent run wait its turn."""

    __tablename__ = "purge_locks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64), nullable=False)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
