"""Orders: an accepted quote fixed as it was accepted, its payments, production and shipping."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, LargeBinary, Numeric, String, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from ..extensions import db
from ..services.crypto import EncryptedText
from .base import UTCDateTime, utcnow
from .quote import Money

# awaiting_payment → paid → in_production → shipped → delivered; cancelled / refunded aside
ORDER_STATUSES = (
    "awaiting_payment",
    "paid",
    "in_production",
    "shipped",
    "delivered",
    "cancelled",
    "refunded",
)
PAYMENT_METHODS = ("bank_transfer", "wechat")
PAYMENT_STATUSES = ("pending", "succeeded", "refunded", "closed")


class Order(db.Model):
    """What was bought, at what price, for whom and where: copied from the quote, the address and
    the invoice profile when accepted, so later edits of those never change a placed order."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # XA-<year>-<id, six digits>: set in the transaction that creates the row (see placement)
    number: Mapped[str | None] = mapped_column(String(20), unique=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    quote_id: Mapped[int | None] = mapped_column(
        ForeignKey("quotes.id", ondelete="SET NULL"), unique=True
    )
    status: Mapped[str] = mapped_column(String(20), default="awaiting_payment", nullable=False)

    lead_choice: Mapped[str] = mapped_column(String(10), nullable=False)  # standard | expedited
    lead_days: Mapped[int] = mapped_column(Integer, nullable=False)
    ship_by: Mapped[date] = mapped_column(Date, nullable=False)  # China working days
    currency: Mapped[str] = mapped_column(String(3), default="CNY", nullable=False)
    subtotal: Mapped[Decimal] = mapped_column(Money, nullable=False)
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 4), nullable=False)
    vat: Mapped[Decimal] = mapped_column(Money, nullable=False)
    total: Mapped[Decimal] = mapped_column(Money, nullable=False)  # what the customer pays
    amount_paid: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), nullable=False)
    remittance_reference: Mapped[str] = mapped_column(String(20), nullable=False)

    parts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    shipping: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    # The invoice profile as accepted, JSON, AEAD-encrypted (it holds tax number and bank account).
    invoice_sealed: Mapped[str] = mapped_column(EncryptedText(), nullable=False)

    carrier: Mapped[str | None] = mapped_column(String(20))
    tracking_number: Mapped[str | None] = mapped_column(String(40))
    fapiao_number: Mapped[str | None] = mapped_column(String(40))
    fapiao_filename: Mapped[str | None] = mapped_column(String(255))
    fapiao_blob_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    fapiao_key_id: Mapped[str | None] = mapped_column(String(64), index=True)
    fapiao_wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fapiao_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    events: Mapped[list[OrderEvent]] = relationship(
        back_populates="order", order_by="OrderEvent.id", cascade="all, delete-orphan"
    )
    payments: Mapped[list[Payment]] = relationship(
        back_populates="order", order_by="Payment.id", cascade="all, delete-orphan"
    )

    @property
    def invoice(self) -> dict[str, Any]:
        return json.loads(self.invoice_sealed) if self.invoice_sealed else {}

    @invoice.setter
    def invoice(self, value: dict[str, Any]) -> None:
        self.invoice_sealed = json.dumps(value, ensure_ascii=False, sort_keys=True)

    @property
    def outstanding(self) -> Decimal:
        """What is still to pay (never below zero; an excess is flagged on its payment)."""
        return max(self.total - (self.amount_paid or Decimal(0)), Decimal(0))

    @property
    def has_fapiao(self) -> bool:
        return self.fapiao_wrapped_key is not None

    def __repr__(self) -> str:
        return f"<Order {self.id}>"


class OrderEvent(db.Model):
    """One step of an order's timeline; `note` is a message code, translated on show."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True, nullable=False
    )
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    note: Mapped[str | None] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    order: Mapped[Order] = relationship(back_populates="events")


# The newest step of the timeline, which only ever grows: read with the order where its page is
# shown, so that the page's kept sections (orders/sections.py) know the history without loading it.
Order.last_event_id = column_property(
    select(func.max(OrderEvent.id)).where(OrderEvent.order_id == Order.id).scalar_subquery(),
    deferred=True,
)


class Payment(db.Model):
    """Money for an order: a bank transfer staff recorded, or a WeChat Pay transaction whose
    result only a signed notification from WeChat sets."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True, nullable=False
    )
    method: Mapped[str] = mapped_column(String(16), nullable=False)  # bank_transfer | wechat
    status: Mapped[str] = mapped_column(String(12), default="pending", nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    # a partial or excess amount is flagged for staff, never silently accepted as payment in full
    flag: Mapped[str | None] = mapped_column(String(12))  # partial | excess
    reference: Mapped[str | None] = mapped_column(String(64))  # bank reference / transaction id
    out_trade_no: Mapped[str | None] = mapped_column(String(32), unique=True)  # ours, to WeChat
    received_on: Mapped[date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    refunded_amount: Mapped[Decimal | None] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    order: Mapped[Order] = relationship(back_populates="payments")

    def __repr__(self) -> str:
        return f"<Payment {self.id}>"
