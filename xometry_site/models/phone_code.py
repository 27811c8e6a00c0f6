"""SMS codes proving that a visitor holds a phone number; only a keyed hash of the code is kept."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow

MAX_ATTEMPTS = 5


class PhoneVerification(db.Model):
    """One code sent to one phone: expires, dies after MAX_ATTEMPTS wrong tries, used once."""

    __tablename__ = "phone_verifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    # what the code may be used for: a code sent to sign in cannot finish another workflow
    purpose: Mapped[str] = mapped_column(String(20), nullable=False, server_default="sign_up")
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def is_usable(self, now: datetime) -> bool:
        """Not used, not expired, and not worn out by wrong guesses."""
        return self.consumed_at is None and now < self.expires_at and self.attempts < MAX_ATTEMPTS

    def __repr__(self) -> str:  # no phone number in reprs: they end up in logs
        return f"<PhoneVerification {self.id}>"
