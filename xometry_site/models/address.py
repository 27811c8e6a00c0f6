"""Shipping addresses: the appendix's "Personal Center – shipping information" row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class ShippingAddress(db.Model):
    """Where ordered parts go; a user has several and exactly one default (if any)."""

    __tablename__ = "shipping_addresses"
    __table_args__ = (
        # at most one default per user, enforced by the database as well as by the service
        Index(
            "uq_shipping_addresses_one_default",
            "user_id",
            unique=True,
            sqlite_where=db.text("is_default"),
            postgresql_where=db.text("is_default"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    organization: Mapped[str | None] = mapped_column(String(200))
    recipient: Mapped[str] = mapped_column(String(100), nullable=False)
    address: Mapped[str] = mapped_column(String(300), nullable=False)
    phone: Mapped[str] = mapped_column(String(20), nullable=False)  # E.164
    province: Mapped[str] = mapped_column(String(6), nullable=False)  # GB/T 2260 code
    city: Mapped[str] = mapped_column(String(6), nullable=False)  # GB/T 2260 code
    # GB/T 2260 code; empty on addresses saved before districts were asked (and for a city
    # without districts): the next order asks for it
    district: Mapped[str | None] = mapped_column(String(6))
    postal_code: Mapped[str] = mapped_column(String(6), nullable=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )

    def __repr__(self) -> str:  # no personal data in reprs
        return f"<ShippingAddress {self.id}>"
