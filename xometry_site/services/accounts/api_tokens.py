"""Bearer tokens of the Mini Program: a short-lived access token and a rotating refresh token.

Tokens are 256-bit random strings handed to the device once; only their SHA-256 is stored (a
random token needs no slow hash). Refreshing replaces both; a refresh token presented again after
it was replaced means it was copied, and ends that sign-in (RFC 9700, refresh token rotation).
Every token dies with the account's `session_token` (see models/api_session.py), so the one home
of "end every session" — `User.end_all_sessions` — ends these too.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import ApiSession, User
from ...models.base import utcnow
from .wechat import WeChatIdentity

log = logging.getLogger(__name__)

ACCESS_PREFIX, REFRESH_PREFIX = "xa_at_", "xa_rt_"


class TokenRefused(Exception):
    """The token opens nothing: unknown, expired, revoked, or its account cannot sign in."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # unknown, expired, reused, inactive


@dataclass(frozen=True)
class IssuedTokens:
    """What the device is given once; only hashes stay here."""

    access_token: str
    refresh_token: str
    expires_in: int
    session: ApiSession


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _lifetimes(registered: bool) -> tuple[timedelta, timedelta]:
    """(access, refresh) lifetimes; a sign-in still registering lives only as long as that takes."""
    config = current_app.config
    access = timedelta(seconds=int(config["API_ACCESS_TOKEN_SECONDS"]))
    if not registered:
        return access, timedelta(seconds=int(config["API_REGISTRATION_SECONDS"]))
    return access, timedelta(days=int(config["API_REFRESH_TOKEN_DAYS"]))


def _new_pair(row: ApiSession, now: datetime) -> IssuedTokens:
    """Fresh tokens on `row` (not committed)."""
    access = ACCESS_PREFIX + secrets.token_urlsafe(32)
    refresh = REFRESH_PREFIX + secrets.token_urlsafe(32)
    access_life, refresh_life = _lifetimes(row.user_id is not None)
    row.access_hash = digest(access)
    row.access_expires_at = now + access_life
    row.refresh_hash = digest(refresh)
    row.refresh_expires_at = now + refresh_life
    return IssuedTokens(access, refresh, int(access_life.total_seconds()), row)


def issue(user: User | None, identity: WeChatIdentity | None = None) -> IssuedTokens:
    """A new sign-in for `user`, or, without one, for an identity that still has to register."""
    now = utcnow()
    row = ApiSession(created_at=now)
    if user is not None:
        row.user_id, row.generation = user.id, user.session_token
    elif identity is not None:
        row.appid, row.openid, row.unionid = identity.appid, identity.openid, identity.unionid
    else:
        raise ValueError("a sign-in needs an account or a WeChat identity")
    issued = _new_pair(row, now)
    db.session.add(row)
    db.session.commit()
    return issued


def _usable(row: ApiSession) -> bool:
    """The account (if any) may sign in and has not ended its sessions since."""
    if row.user_id is None:
        return True
    user = row.user
    return (
        user is not None
        and user.is_active
        and row.generation is not None
        and secrets.compare_digest(row.generation, user.session_token)
    )


@lru_cache(maxsize=1)
def _sign_in_by_access_hash() -> sa.Select:
    """The sign-in with its account in the same query (every signed-in call needs it), built
    once: SQLAlchemy keeps a statement's cache key, which a statement built per call has it work
    out again (the website's user query does the same, auth/loading.py)."""
    return (
        sa.select(ApiSession)
        .options(joinedload(ApiSession.user))
        .where(ApiSession.access_hash == sa.bindparam("access_hash"))
    )


def authenticate(access_token: str) -> ApiSession:
    """The sign-in an access token belongs to; TokenRefused otherwise."""
    if not access_token.startswith(ACCESS_PREFIX):
        raise TokenRefused("unknown")
    row = db.session.scalar(_sign_in_by_access_hash(), {"access_hash": digest(access_token)})
    if row is None:
        raise TokenRefused("unknown")
    if row.access_expires_at <= utcnow():
        raise TokenRefused("expired")
    if not _usable(row):
        raise TokenRefused("inactive")
    return row


def rotate(refresh_token: str) -> IssuedTokens:
    """New tokens for a refresh token, which is spent; a spent one ends its sign-in."""
    hashed = digest(refresh_token) if refresh_token.startswith(REFRESH_PREFIX) else ""
    row = db.session.scalar(
        sa.select(ApiSession).where(ApiSession.refresh_hash == hashed).with_for_update()
    )
    if row is None:
        reused = db.session.scalar(
            sa.select(ApiSession).where(ApiSession.previous_refresh_hash == hashed)
        )
        if reused is not None and hashed:
            log.warning("api.refresh_reused session=%s user=%s", reused.id, reused.user_id)
            db.session.delete(reused)
            db.session.commit()
            raise TokenRefused("reused")
        raise TokenRefused("unknown")
    now = utcnow()
    problem = "expired" if row.refresh_expires_at <= now else None
    problem = problem or (None if _usable(row) else "inactive")
    if problem:
        db.session.delete(row)
        db.session.commit()
        raise TokenRefused(problem)
    row.previous_refresh_hash = row.refresh_hash
    row.refreshed_at = now
    issued = _new_pair(row, now)
    db.session.commit()
    return issued


def attach(row: ApiSession, user: User) -> IssuedTokens:
    """A registering sign-in now has its account: new tokens (the old ones stop), no identity kept."""
    row.user_id, row.generation = user.id, user.session_token
    row.user = user
    row.appid = row.openid = row.unionid = None
    row.link_user_id = None
    row.previous_refresh_hash = None
    issued = _new_pair(row, utcnow())
    db.session.commit()
    return issued


def keep(row: ApiSession) -> None:
    """After the device's own act ended every session (a password change): this sign-in alone
    goes on, as the website keeps the browser that changed the password signed in."""
    row.generation = row.user.session_token
    db.session.commit()


def signed_in_recently(row: ApiSession, max_age_seconds: int) -> bool:
    """The device proved its WeChat identity (wx.login → a new sign-in) within `max_age_seconds`:
    as fresh a proof as the website's fresh WeChat sign-in. Refreshing tokens proves nothing."""
    return utcnow() - row.created_at <= timedelta(seconds=max_age_seconds)


def revoke(row: ApiSession) -> None:
    """Sign this device out (its tokens are gone)."""
    db.session.delete(row)
    db.session.commit()


def purge_expired(now: datetime) -> int:
    """Sign-ins whose refresh token has expired, and those of accounts that ended their sessions."""
    stale = sa.select(ApiSession.id).join(User, User.id == ApiSession.user_id)
    stale = stale.where(ApiSession.generation != User.session_token)
    count = db.session.execute(
        sa.delete(ApiSession).where(
            sa.or_(ApiSession.refresh_expires_at < now, ApiSession.id.in_(stale))
        )
    ).rowcount
    db.session.commit()
    return count
