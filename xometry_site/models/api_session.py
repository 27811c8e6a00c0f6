"""A Mini Program sign-in: bearer tokens (only their SHA-256 is kept) for one device.

Before the first sign-in is complete the row has no account, only the WeChat identity that
`wx.login` proved (so that registration can bind it); once the account is known the identity
columns are emptied. A row is useless when the account's `session_token` no longer equals its
`generation`: sign-out everywhere, password changes, deregistration and staff action all change
that token (`User.end_all_sessions`), so each of them ends every Mini Program sign-in too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .user import User


class ApiSession(db.Model):
    __tablename__ = "api_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    generation: Mapped[str | None] = mapped_column(String(64))
    access_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    access_expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    refresh_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    previous_refresh_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    refresh_expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # the WeChat identity of a sign-in that has no account yet (emptied once it has one)
    appid: Mapped[str | None] = mapped_column(String(64))
    openid: Mapped[str | None] = mapped_column(String(128))
    unionid: Mapped[str | None] = mapped_column(String(128))
    # an account holding the phone WeChat proved for this sign-in: it may be linked on request
    link_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])

    def __repr__(self) -> str:  # no identity in reprs: they end up in logs
        return f"<ApiSession {self.id}>"
