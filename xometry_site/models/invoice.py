"""Invoice details: the appendix's "Personal Center – invoice information" row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..services.crypto import EncryptedText
from .base import UTCDateTime, utcnow

INVOICE_KINDS = ("corporate", "personal")
# 增值税专用发票 (special: lets a VAT-registered company deduct input tax; companies only) and
# 增值税普通发票 (normal); both issued electronically
FAPIAO_TYPES = ("normal", "special")


class InvoiceProfile(db.Model):
    """One per user. Tax number and bank account are AEAD-encrypted: never stored in plaintext."""

    __tablename__ = "invoice_profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True, nullable=False
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # corporate | personal
    fapiao_type: Mapped[str] = mapped_column(
        String(16), nullable=False, default="normal", server_default="normal"
    )  # normal | special
    company_name: Mapped[str | None] = mapped_column(String(200))  # corporate
    name: Mapped[str | None] = mapped_column(String(100))  # personal
    tax_number: Mapped[str | None] = mapped_column(EncryptedText())
    company_address: Mapped[str | None] = mapped_column(String(300))  # registered, on the fapiao
    company_phone: Mapped[str | None] = mapped_column(String(20))  # registered, E.164
    province: Mapped[str | None] = mapped_column(String(6))
    city: Mapped[str | None] = mapped_column(String(6))
    district: Mapped[str | None] = mapped_column(String(6))
    address: Mapped[str | None] = mapped_column(String(300))
    postal_code: Mapped[str | None] = mapped_column(String(6))
    bank_name: Mapped[str | None] = mapped_column(String(200))  # corporate
    bank_account: Mapped[str | None] = mapped_column(EncryptedText())  # corporate
    invoice_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )

    @property
    def holder(self) -> str | None:
        """The name on the invoice: the company's or the person's."""
        return self.company_name if self.kind == "corporate" else self.name

    def __repr__(self) -> str:  # no personal data in reprs
        return f"<InvoiceProfile {self.id}>"
