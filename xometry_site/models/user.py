"""The account: the appendix's "Registration" and "Account information" rows plus what running it needs."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow

CUSTOMER_TYPES = ("company", "individual", "education", "other")
PROVED_PHONE = "phone_verified_at IS NOT NULL"


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        # a number is one account's once proved by SMS; a number only typed (e-mail registration,
        # unproved) is a claim that may repeat and never blocks the number's proved owner
        Index(
            "uq_users_proved_phone",
            "phone",
            unique=True,
            sqlite_where=db.text(PROVED_PHONE),
            postgresql_where=db.text(PROVED_PHONE),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True, index=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)  # E.164
    phone_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    customer_type: Mapped[str | None] = mapped_column(String(20))
    job_title: Mapped[str | None] = mapped_column(String(100))
    invoice_email: Mapped[str | None] = mapped_column(String(254))
    preferred_language: Mapped[str | None] = mapped_column(String(10))
    password_hash: Mapped[str | None] = mapped_column(String(255))

    session_token: Mapped[str] = mapped_column(
        String(64), default=lambda: secrets.token_hex(16), nullable=False
    )
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    is_minor: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deregistered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    erase_after: Mapped[datetime | None] = mapped_column(UTCDateTime())
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    wechat_identities: Mapped[list[WeChatIdentity]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    def get_id(self) -> str:
        """Session id = user id + a token that changes to end every earlier session."""
        return f"{self.id}:{self.session_token}"

    def end_all_sessions(self) -> None:
        """Make every session and remember cookie issued so far useless."""
        self.session_token = secrets.token_hex(16)

    @property
    def is_active(self) -> bool:
        return self.deregistered_at is None and self.erased_at is None

    @property
    def is_deregistered(self) -> bool:
        return self.deregistered_at is not None

    @property
    def is_verified(self) -> bool:
        """E-mail verified, or a WeChat account whose phone was verified by code."""
        return self.email_verified_at is not None or self.phone_verified_at is not None

    @property
    def has_proved_phone(self) -> bool:
        """The phone was proved by an SMS code (WeChat sign-up, or confirmed later)."""
        return bool(self.phone) and self.phone_verified_at is not None

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)

    def set_password(self, password: str) -> None:
        from ..services.accounts.passwords import hash_password

        self.password_hash = hash_password(password)

    def check_password(self, password: str) -> bool:
        from ..services.accounts.passwords import verify_password

        return bool(self.password_hash) and verify_password(self.password_hash, password)

    def __repr__(self) -> str:  # no personal data in reprs: they end up in logs
        return f"<User {self.id}>"


class WeChatIdentity(db.Model):
    """A WeChat account bound to a user: OpenID per app (+ UnionID), nothing else from WeChat."""

    __tablename__ = "wechat_identities"
    __table_args__ = (UniqueConstraint("appid", "openid", name="uq_wechat_identities_app_openid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    appid: Mapped[str] = mapped_column(String(64), nullable=False)
    openid: Mapped[str] = mapped_column(String(128), nullable=False)
    unionid: Mapped[str | None] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    user: Mapped[User] = relationship(back_populates="wechat_identities")
