"""Read-only links to a quote that its owner gives a colleague, and each time one was opened."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class QuoteShare(db.Model):
    """A link to one quote: only the SHA-256 of its secret is kept, so the link is shown once.

    The link works until `expires_at` unless revoked; deleting the quote or the account deletes
    it with its views (database cascade, and explicitly where rows are deleted in bulk).
    """

    __tablename__ = "quote_shares"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quote_id: Mapped[int] = mapped_column(
        ForeignKey("quotes.id", ondelete="CASCADE"), index=True, nullable=False
    )
    created_by_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    views: Mapped[list[QuoteShareView]] = relationship(
        back_populates="share",
        order_by="QuoteShareView.viewed_at.desc()",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    def is_live(self, now: datetime) -> bool:
        """Opens the quote: neither revoked nor past its date."""
        return self.revoked_at is None and self.expires_at > now

    def __repr__(self) -> str:  # the hash stays out of logs too
        return f"<QuoteShare {self.id}>"


class QuoteShareView(db.Model):
    """One opening of a share link: only when (the visitor is not identified)."""

    __tablename__ = "quote_share_views"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    share_id: Mapped[int] = mapped_column(
        ForeignKey("quote_shares.id", ondelete="CASCADE"), index=True, nullable=False
    )
    viewed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    share: Mapped[QuoteShare] = relationship(back_populates="views")

    def __repr__(self) -> str:
        return f"<QuoteShareView {self.id}>"
