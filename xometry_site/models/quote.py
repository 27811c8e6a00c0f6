"""Quotes: the appendix's "Quotation" row — drawings sent for a price, their parts and status."""

from __future__ import annotations

import base64
import secrets
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow

QUOTE_STATUSES = (
    "analysing",
    "quoted",
    "in_review",
    "ordered",
    "cancelled",
    "expired",
    "declined",
)
OPEN_STATUSES = ("analysing", "quoted", "in_review")  # the customer may still cancel
PRICE_SOURCES = ("instant", "engineer")
# pending → measuring (claimed by one worker) → analysed (measured) | unmeasurable (a format we
# only read by eye) | failed (reason)
ANALYSIS_STATUSES = ("pending", "measuring", "analysed", "unmeasurable", "failed")
TOLERANCES = ("iso2768m", "iso2768f", "custom")
INSPECTIONS = ("standard", "coc", "cmm")
LEAD_CHOICES = ("standard", "expedited")
# A 3D file is a part; a 2D file is a drawing attached to a part, or a part of its own for review.
FLAT_FORMATS = frozenset({"pdf", "dwg", "dxf"})
# Why staff decline to quote (a code, translated on show); "other" comes with a note.
DECLINE_REASONS = ("cannot_make", "outside_processes", "drawing_incomplete", "other")
MESSAGE_KINDS = ("question", "answer")  # staff ask, the customer answers
Money = Numeric(12, 2)


def new_quote_ref() -> str:
    """'Q-' + 10 base32 characters (50 random bits): not guessable, easy to read on the phone."""
    return "Q-" + base64.b32encode(secrets.token_bytes(10)).decode("ascii")[:10]


class Quote(db.Model):
    """One request for a quote: what to make, how many, and what it costs once priced."""

    __tablename__ = "quotes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(16), unique=True, default=new_quote_ref, nullable=False)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    process: Mapped[str] = mapped_column(String(40), nullable=False)
    material: Mapped[str] = mapped_column(String(40), nullable=False)
    finish: Mapped[str | None] = mapped_column(String(40))
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="analysing", nullable=False)

    currency: Mapped[str] = mapped_column(String(3), default="CNY", nullable=False)
    subtotal: Mapped[Decimal | None] = mapped_column(Money)  # parts, before VAT
    vat_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 4))
    vat: Mapped[Decimal | None] = mapped_column(Money)
    total: Mapped[Decimal | None] = mapped_column(Money)  # what the customer pays
    price_source: Mapped[str | None] = mapped_column(String(10))  # instant | engineer
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lead_days_standard: Mapped[int | None] = mapped_column(Integer)
    lead_days_expedited: Mapped[int | None] = mapped_column(Integer)
    expedite_total: Mapped[Decimal | None] = mapped_column(Money)  # total incl. VAT if expedited
    warnings: Mapped[list[str] | None] = mapped_column(JSON)  # sanity warnings (message codes)

    review_reason: Mapped[str | None] = mapped_column(String(40))
    review_due: Mapped[date | None] = mapped_column(Date)  # promised reply, China working days
    engineer_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decline_reason: Mapped[str | None] = mapped_column(String(40))  # one of DECLINE_REASONS
    decline_note: Mapped[str | None] = mapped_column(Text)  # staff's words to the customer

    shipping_address_id: Mapped[int | None] = mapped_column(
        ForeignKey("shipping_addresses.id", ondelete="SET NULL")
    )
    invoice_profile_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoice_profiles.id", ondelete="SET NULL")
    )
    lead_choice: Mapped[str | None] = mapped_column(String(10))  # standard | expedited
    # What the order costs at the chosen lead time, incl. VAT: fixed when the quote is accepted.
    ordered_total: Mapped[Decimal | None] = mapped_column(Money)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )
    quoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ordered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    drawings: Mapped[list[Drawing]] = relationship(
        back_populates="quote", order_by="Drawing.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[QuoteEvent]] = relationship(
        back_populates="quote", order_by="QuoteEvent.id", cascade="all, delete-orphan"
    )
    messages: Mapped[list[QuoteMessage]] = relationship(
        back_populates="quote", order_by="QuoteMessage.id", cascade="all, delete-orphan"
    )

    @property
    def live_drawings(self) -> list[Drawing]:
        """Drawings not deleted (a deleted one keeps its row for the record, not its key)."""
        return [d for d in self.drawings if d.deleted_at is None]

    @property
    def parts(self) -> list[Drawing]:
        """What is made and priced: every live file that is not attached to another part."""
        return [d for d in self.live_drawings if d.part_of_id is None]

    def attachments_of(self, part: Drawing) -> list[Drawing]:
        """The 2D drawings attached to `part`."""
        return [d for d in self.live_drawings if d.part_of_id == part.id]

    @property
    def payable_total(self) -> Decimal | None:
        """The one total to show: the ordered lead time's once ordered, else the standard one."""
        if self.ordered_total is not None:
            return self.ordered_total
        if self.lead_choice == "expedited" and self.expedite_total is not None:
            return self.expedite_total
        return self.total

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_configurable(self) -> bool:
        """The customer may still change the parts' options (not once ordered or cancelled)."""
        return self.status in ("quoted", "in_review", "expired")

    def __repr__(self) -> str:
        return f"<Quote {self.id}>"


class QuoteEvent(db.Model):
    """One step of a quote's timeline (created, quoted, sent to review, ordered, ...)."""

    __tablename__ = "quote_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quote_id: Mapped[int] = mapped_column(
        ForeignKey("quotes.id", ondelete="CASCADE"), index=True, nullable=False
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(40))  # a message code, translated on show
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    quote: Mapped[Quote] = relationship(back_populates="events")


class QuoteMessage(db.Model):
    """A staff question about a quote, or the customer's answer, in the order they were written."""

    __tablename__ = "quote_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quote_id: Mapped[int] = mapped_column(
        ForeignKey("quotes.id", ondelete="CASCADE"), index=True, nullable=False
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(10), nullable=False)  # one of MESSAGE_KINDS
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    quote: Mapped[Quote] = relationship(back_populates="messages")

    def __repr__(self) -> str:  # the body is personal: not in logs
        return f"<QuoteMessage {self.id}>"


class Drawing(db.Model):
    """An uploaded CAD file: ciphertext in blob storage, its wrapped data key here.

    Deleting the wrapped key (`shred`) makes the blob unreadable for good, whatever copies of the
    ciphertext remain (crypto-shredding); the row stays as a record that a file existed.
    """

    __tablename__ = "drawings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quote_id: Mapped[int] = mapped_column(
        ForeignKey("quotes.id", ondelete="CASCADE"), index=True, nullable=False
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    filename: Mapped[str] = mapped_column(String(255), nullable=False)  # metadata only
    extension: Mapped[str] = mapped_column(String(10), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    blob_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    key_id: Mapped[str | None] = mapped_column(String(64), index=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    preview_blob_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    preview_key_id: Mapped[str | None] = mapped_column(String(64), index=True)
    preview_wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    # the 3D viewer's mesh (services/quotes/viewer_mesh.py), encrypted like the preview
    mesh_blob_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    mesh_key_id: Mapped[str | None] = mapped_column(String(64), index=True)
    mesh_wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)

    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    analysis_status: Mapped[str] = mapped_column(String(16), default="pending", nullable=False)
    # When a worker last claimed it, and how many analyses were started: a claim that grows old
    # lost its worker (services/quotes/analysis_recovery.py retries it, or sends it to an engineer).
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    analysis_attempts: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0", nullable=False
    )
    review_reason: Mapped[str | None] = mapped_column(String(40))
    # A part's options (None on an attached 2D drawing: it follows its part). A part without
    # options of its own (older quotes) takes the quote's; see `options_of`.
    part_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("drawings.id", ondelete="SET NULL"), index=True
    )
    process: Mapped[str | None] = mapped_column(String(40))
    material: Mapped[str | None] = mapped_column(String(40))
    finish: Mapped[str | None] = mapped_column(String(40))
    quantity: Mapped[int | None] = mapped_column(Integer)
    tolerance: Mapped[str | None] = mapped_column(String(10))
    threads: Mapped[int | None] = mapped_column(Integer)
    inspection: Mapped[str | None] = mapped_column(String(10))
    unit_price: Mapped[Decimal | None] = mapped_column(Money)
    line_total: Mapped[Decimal | None] = mapped_column(Money)
    price_breakdown: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    quote: Mapped[Quote] = relationship(back_populates="drawings")

    @property
    def is_readable(self) -> bool:
        return self.deleted_at is None and self.wrapped_key is not None

    @property
    def is_flat(self) -> bool:
        """A 2D drawing (PDF, DWG, DXF): read by an engineer, attachable to a part."""
        return self.extension in FLAT_FORMATS

    @property
    def has_preview(self) -> bool:
        return self.deleted_at is None and self.preview_wrapped_key is not None

    @property
    def has_mesh(self) -> bool:
        """Drawings analysed before the 3D viewer, and STEP/IGES too large to send whole, have none."""
        return self.deleted_at is None and self.mesh_wrapped_key is not None

    def shred(self) -> list[str]:
        """Forget the data keys (the files become noise) and return the blob ids to destroy
        after the commit."""
        blobs = [b for b in (self.blob_id, self.preview_blob_id, self.mesh_blob_id) if b]
        self.blob_id = None
        self.wrapped_key = None
        self.key_id = None
        self.preview_wrapped_key = None
        self.preview_key_id = None
        self.preview_blob_id = None
        self.mesh_wrapped_key = None
        self.mesh_key_id = None
        self.mesh_blob_id = None
        self.deleted_at = self.deleted_at or utcnow()
        return blobs

    def __repr__(self) -> str:  # the file name may be personal: not in logs
        return f"<Drawing {self.id}>"
