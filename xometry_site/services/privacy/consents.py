"""Giving and withdrawing consent, always as a record with edition, time and address."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l

from ...extensions import db
from ...models import Consent, User
from ...models.base import utcnow

LABELS = {
    "policy": _l("Data Protection Policy"),
    "adult": _l("18 or older, or acting for an organisation"),
    "subscription": _l("E-mail newsletter"),
    "cookies_functional": _l("Functional cookies (remember me)"),
    "sensitive_tax_id": _l("Processing of my national ID number as a tax number"),
    "third_party": _l("Providing my information to a third party"),
}
THIRD_PARTY = "third_party"  # one consent per recipient: see services/privacy/provisions.py
# kinds that are one consent each (the third-party kind is given recipient by recipient)
GENERAL = tuple(kind for kind in LABELS if kind != THIRD_PARTY)


def current_policy_edition() -> str:
    """The id of the edition in force, as recorded on every consent."""
    from ...policies import current_edition

    return current_edition(current_app.config).id


def record(
    user: User,
    kind: str,
    *,
    ip: str | None,
    source: str,
    confirmed: bool = True,
    edition: str | None = None,
    recipient_id: int | None = None,
) -> Consent:
    """Add a consent record (the caller commits)."""
    consent = Consent(
        user_id=user.id,
        kind=kind,
        recipient_id=recipient_id,
        policy_edition=edition or current_policy_edition(),
        ip_address=ip,
        source=source,
        confirmed_at=utcnow() if confirmed else None,
    )
    db.session.add(consent)
    return consent


def active(user: User, kind: str, recipient_id: int | None = None) -> Consent | None:
    """The newest consent of that kind (to that recipient) still in force (confirmed and not
    withdrawn)."""
    return db.session.scalar(
        db.select(Consent)
        .filter_by(user_id=user.id, kind=kind, recipient_id=recipient_id, withdrawn_at=None)
        .filter(Consent.confirmed_at.is_not(None))
        .order_by(Consent.given_at.desc(), Consent.id.desc())
        .limit(1)
    )


def withdraw(user: User, kind: str, recipient_id: int | None = None) -> int:
    """Withdraw every consent of that kind (to that recipient) at once; returns how many were in
    force."""
    rows = db.session.scalars(
        db.select(Consent).filter_by(
            user_id=user.id, kind=kind, recipient_id=recipient_id, withdrawn_at=None
        )
    ).all()
    now = utcnow()
    for row in rows:
        row.withdrawn_at = now
    return len(rows)
