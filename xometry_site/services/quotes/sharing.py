"""Read-only links to a quote: made by its owner, valid 14 days, revocable, each opening on record.

The link carries a 256-bit random secret; the database keeps only its SHA-256, so a copy of the
database opens no quote, and the owner sees the link once, when it is made. A visitor is not
identified: an opening is recorded by its time alone.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa

from ...extensions import db
from ...models import Quote, QuoteShare, QuoteShareView, User
from ...models.base import utcnow
from .records import QuoteError, expire_if_due

log = logging.getLogger(__name__)

SHARE_DAYS = 14
TOKEN_BYTES = 32
TOKEN_CHARACTERS = 43  # token_urlsafe(32)
SHAREABLE = ("quoted", "in_review", "ordered", "expired")  # a quote with something to read


def token_hash(token: str) -> str:
    """What is stored of a link's secret (a random 256-bit secret needs no slow hash)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_share(quote: Quote, owner: User, now: datetime | None = None) -> tuple[QuoteShare, str]:
    """A new link for the quote's owner; the secret is returned once and never stored."""
    if quote.user_id != owner.id:
        raise QuoteError("not_owner")
    if quote.status not in SHAREABLE:
        raise QuoteError("not_shareable")
    moment = now or utcnow()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    share = QuoteShare(
        quote_id=quote.id,
        created_by_id=owner.id,
        token_hash=token_hash(token),
        created_at=moment,
        expires_at=moment + timedelta(days=SHARE_DAYS),
    )
    db.session.add(share)
    db.session.commit()
    log.info("quote.shared quote=%s share=%s", quote.id, share.id)
    return share, token


def revoke_share(quote: Quote, owner: User, share_id: int, now: datetime | None = None) -> bool:
    """End one of the owner's links to this quote at once; False if there is none such."""
    share = db.session.scalar(
        sa.select(QuoteShare).where(
            QuoteShare.id == share_id,
            QuoteShare.quote_id == quote.id,
            QuoteShare.created_by_id == owner.id,
        )
    )
    if share is None or quote.user_id != owner.id:
        return False
    if share.revoked_at is None:
        share.revoked_at = now or utcnow()
        db.session.commit()
        log.info("quote.share_revoked quote=%s share=%s", quote.id, share.id)
    return True


def shared_quote(token: str, now: datetime | None = None) -> tuple[QuoteShare, Quote] | None:
    """The live link with this secret and its quote, the opening recorded; None if it is
    unknown, revoked or past its date (the visitor is told the same for all three)."""
    if not token or len(token) > 2 * TOKEN_CHARACTERS:
        return None
    moment = now or utcnow()
    share = db.session.scalar(sa.select(QuoteShare).filter_by(token_hash=token_hash(token)))
    if share is None or not share.is_live(moment):
        return None
    quote = db.session.get(Quote, share.quote_id)
    if quote is None:
        return None
    expire_if_due(quote, moment)
    db.session.add(QuoteShareView(share_id=share.id, viewed_at=moment))
    db.session.commit()
    log.info("quote.share_opened share=%s", share.id)
    return share, quote


def shares_of(quote: Quote, owner: User) -> list[QuoteShare]:
    """The owner's links to this quote, newest first, with their openings (one query each)."""
    from sqlalchemy.orm import selectinload

    return list(
        db.session.scalars(
            sa.select(QuoteShare)
            .where(QuoteShare.quote_id == quote.id, QuoteShare.created_by_id == owner.id)
            .options(selectinload(QuoteShare.views))
            .order_by(QuoteShare.created_at.desc(), QuoteShare.id.desc())
        )
    )


def delete_shares_of(quote_ids: Iterable[int]) -> None:
    """Links and their openings of quotes about to be deleted in bulk (SQLite enforces no
    cascade unless told; the caller commits)."""
    ids = list(quote_ids)
    if not ids:
        return
    shares = sa.select(QuoteShare.id).where(QuoteShare.quote_id.in_(ids))
    db.session.execute(sa.delete(QuoteShareView).where(QuoteShareView.share_id.in_(shares)))
    db.session.execute(sa.delete(QuoteShare).where(QuoteShare.quote_id.in_(ids)))
