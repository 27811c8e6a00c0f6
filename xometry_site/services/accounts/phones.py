"""Whose number it is: a phone number is an account's once proved by an SMS code.

A number typed at e-mail registration is a claim (`phone_verified_at` empty) until its holder
enters the code sent to it. Claims may repeat, so registering tells nobody whether a number is
known; a claim never blocks the number's proved owner, and when someone proves the number every
other account's claim to it is dropped (the unproved claim loses). The database holds the rule
too: a number is unique among proved numbers only (`uq_users_proved_phone`).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import User
from ...models.base import utcnow
from ..privacy import audit_trail
from . import phone_codes

log = logging.getLogger(__name__)


class PhoneTaken(Exception):
    """The number is proved by another account; said only to someone who just proved it too."""


def proved_owner(phone: str) -> User | None:
    """The account that proved this number, if any (never one that only typed it)."""
    if not phone:
        return None
    return db.session.scalar(
        sa.select(User).where(User.phone == phone, User.phone_verified_at.is_not(None))
    )


def drop_unproved_claims(phone: str, *, prover_id: int | None = None) -> int:
    """The number was just proved: other accounts' unproved claims to it go, each audited.
    The caller commits (with the proof)."""
    claimants = db.session.scalars(
        sa.select(User.id).where(
            User.phone == phone,
            User.phone_verified_at.is_(None),
            User.id != (prover_id or 0),
        )
    ).all()
    if not claimants:
        return 0
    db.session.execute(sa.update(User).where(User.id.in_(claimants)).values(phone=None))
    for claimant in claimants:
        audit_trail.record("account.phone_claim_dropped", subject_id=claimant)
    log.info("phone.claims_dropped count=%s", len(claimants))
    return len(claimants)


def prove(user: User, phone: str, code: str) -> None:
    """The account's phone becomes `phone`, proved by the code sent to it (Personal Center).
    Commits. Raises phone_codes.PhoneCodeError (nothing changes) or PhoneTaken."""
    phone_codes.verify(phone, code, purpose=phone_codes.PROVE)
    owner = proved_owner(phone)
    if owner is not None and owner.id != user.id:
        log.info("phone.prove_refused reason=taken user=%s", user.id)
        raise PhoneTaken
    if owner is not None:  # proved already: the code changed nothing
        return
    user.phone = phone
    user.phone_verified_at = utcnow()
    drop_unproved_claims(phone, prover_id=user.id)
    audit_trail.record("account.phone_proved", subject_id=user.id, actor_id=user.id)
    try:
        db.session.commit()
    except IntegrityError:  # someone else proved the number a moment ago
        db.session.rollback()
        raise PhoneTaken from None
    log.info("phone.proved user=%s", user.id)
