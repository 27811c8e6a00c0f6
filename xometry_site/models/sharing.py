"""Policy section 4: who we entrust or provide personal information to, and each time we did."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow

RECIPIENT_ROLES = ("manufacturer", "logistics", "payment", "sms", "mail", "cloud_storage")
# entrusted: processes on our instructions only (PIPL art. 21, 委托处理);
# provided: decides for itself what it does with the data (PIPL art. 23, 提供): separate consent
RECIPIENT_KINDS = ("entrusted", "provided")
MAINLAND_CHINA = "CN"  # ISO 3166-1: Hong Kong, Macao and Taiwan have codes of their own


class Recipient(db.Model):
    """One line of the register staff keep and the public third-party sharing list shows.

    A recipient is never deleted, only ended (`until`): provisions and consents name it, and a
    customer must still be able to read who received their information.
    """

    __tablename__ = "recipients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    purpose_zh: Mapped[str] = mapped_column(Text, nullable=False)
    purpose_en: Mapped[str] = mapped_column(Text, nullable=False)
    categories: Mapped[list[str]] = mapped_column(JSON, nullable=False)  # sharing.PI_TYPES codes
    country: Mapped[str] = mapped_column(String(2), nullable=False)  # ISO 3166-1 alpha-2
    contact: Mapped[str | None] = mapped_column(String(200))
    since: Mapped[date] = mapped_column(Date, nullable=False)
    until: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )

    @property
    def in_mainland(self) -> bool:
        return self.country == MAINLAND_CHINA

    @property
    def needs_separate_consent(self) -> bool:
        """A third party deciding for itself (PIPL art. 23), or anyone abroad (art. 39)."""
        return self.kind == "provided" or not self.in_mainland

    def name(self, locale: Any) -> str:
        return self.name_en if str(locale).startswith("en") else self.name_zh

    def purpose(self, locale: Any) -> str:
        return self.purpose_en if str(locale).startswith("en") else self.purpose_zh

    def is_active_on(self, day: date) -> bool:
        return self.since <= day and (self.until is None or day < self.until)

    def __repr__(self) -> str:
        return f"<Recipient {self.id}>"


class Provision(db.Model):
    """Staff gave a customer's information to a recipient: who, what, when, why, on what basis."""

    __tablename__ = "provisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    recipient_id: Mapped[int] = mapped_column(
        ForeignKey("recipients.id"), index=True, nullable=False
    )
    # the recipient's name as it was then: the register may be edited later
    recipient_name: Mapped[str] = mapped_column(String(420), nullable=False)
    basis: Mapped[str] = mapped_column(String(10), nullable=False)  # entrusted | consent
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consents.id", ondelete="SET NULL"))
    categories: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    order_number: Mapped[str | None] = mapped_column(String(20))
    drawings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    purpose: Mapped[str] = mapped_column(String(20), nullable=False)
    note: Mapped[str | None] = mapped_column(String(500))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    provided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    recipient: Mapped[Recipient] = relationship()

    def __repr__(self) -> str:
        return f"<Provision {self.id}>"
