"""The in-site inbox: one row per service message (quote priced, order shipped …) to one user.

The row keeps the message's kind and its parameters (plain values: a quote ref, an order number,
a carrier code), never its words: title and text are built in the reader's language when shown
(services/notifications.py), so switching language switches the inbox too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class Notification(db.Model):
    """A service message in a user's inbox; unread until `read_at`."""

    __tablename__ = "notifications"
    # the inbox pages newest first and the header counts the unread, both by user
    __table_args__ = (Index("ix_notifications_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    link_path: Mapped[str] = mapped_column(String(200), nullable=False)  # a site path, "/quotes/…"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind}>"
