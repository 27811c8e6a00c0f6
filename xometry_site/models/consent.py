"""Consent evidence: what was agreed to, under which policy edition, when and from where."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow

# kinds of consent the site asks for; each has a label in services/privacy/consents.py
CONSENT_KINDS = (
    "policy",  # the Data Protection Policy (edition recorded)
    "adult",  # 18 or older, or acting for an organisation (policy section 6)
    "subscription",  # marketing e-mail (policy 1.7), double opt-in
    "cookies_functional",  # non-necessary cookie category (remember me)
    "sensitive_tax_id",  # a personal tax number that is a national ID number (PIPL art. 29)
    "third_party",  # providing information to one named recipient (PIPL arts. 23, 39): recipient_id
)


class Consent(db.Model):
    """One act of giving (or withdrawing) consent; never a bare boolean on the user."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    subject_ref: Mapped[str | None] = mapped_column(
        String(64), index=True
    )  # pseudonym after erasure
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    policy_edition: Mapped[str] = mapped_column(String(20), nullable=False)
    given_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # double opt-in
    ip_address: Mapped[str | None] = mapped_column(String(45))
    source: Mapped[str | None] = mapped_column(String(32))  # register, wechat, account, banner…
    # the recipient a "third_party" consent names (the register never deletes one)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("recipients.id"), index=True)

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None
