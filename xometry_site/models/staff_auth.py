"""Staff sign-in's second factor: a TOTP secret (encrypted) and single-use recovery codes (hashed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..services.crypto import EncryptedText
from .base import UTCDateTime, utcnow


class StaffSecondFactor(db.Model):
    """A staff member's authenticator app: enrolled once the first code from it was right.

    Until `confirmed_at` the row is an enrolment in progress (the QR code on screen); resetting
    the enrolment deletes the row, its recovery codes with it.
    """

    __tablename__ = "staff_second_factors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True, nullable=False
    )
    secret: Mapped[str] = mapped_column(EncryptedText(), nullable=False)  # base32, RFC 6238
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_step: Mapped[int | None] = mapped_column(Integer)  # a code is good once (no replay)

    recovery_codes: Mapped[list[StaffRecoveryCode]] = relationship(
        back_populates="factor", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:  # the secret stays out of logs
        return f"<StaffSecondFactor {self.id}>"


class StaffRecoveryCode(db.Model):
    """One recovery code for a lost phone: only its SHA-256 is kept, and it works once."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    factor_id: Mapped[int] = mapped_column(
        ForeignKey("staff_second_factors.id", ondelete="CASCADE"), index=True, nullable=False
    )
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    factor: Mapped[StaffSecondFactor] = relationship(back_populates="recovery_codes")
