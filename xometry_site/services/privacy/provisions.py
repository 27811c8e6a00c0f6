"""Recorded provisions (policy 4): staff give a customer's information to a recipient of the
register, and the customer's separate consent to the recipients that need it.

An entrusted processor in mainland China processes on our instructions (PIPL art. 21) and needs
no consent beyond the policy. A third party that decides for itself (art. 23), or any recipient
outside mainland China (art. 39), needs the customer's separate consent to that very recipient
first: without one in force the provision is refused and nothing is recorded. Withdrawing it
stops future provisions; what was provided before stays recorded (art. 15).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ...extensions import db
from ...models import Consent, Drawing, Order, Provision, Recipient, User
from ...models.base import utcnow
from ..working_days import china_date
from . import audit_trail, consents, recipients
from .recipients import PI_TYPE_BY_CODE

PURPOSES = {
    "manufacture": _l("To manufacture the parts you ordered"),
    "inspection": _l("To inspect the parts you ordered"),
    "delivery": _l("To deliver your order"),
    "invoicing": _l("To issue your fapiao"),
    "other": _l("Another purpose (see the note)"),
}
BASIS_LABELS = {
    "entrusted": _l("Entrusted processing on our instructions (policy 4.1)"),
    "consent": _l("Your separate consent"),
}


class ProvisionRefused(Exception):
    """The provision may not happen; `code` says why (the view words it)."""

    def __init__(self, code: str, recipient: Recipient | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.recipient = recipient


@dataclass(frozen=True)
class ProvisionDraft:
    """What staff chose on the order page."""

    recipient_id: int
    categories: list[str]
    purpose: str
    note: str | None


def _usable(recipient_id: int, now: datetime) -> Recipient:
    recipient = recipients.get(recipient_id)
    if recipient is None:
        raise ProvisionRefused("unknown")
    if not recipient.is_active_on(china_date(now)):
        raise ProvisionRefused("ended", recipient)
    return recipient


def record(
    order: Order, staff: User, draft: ProvisionDraft, now: datetime | None = None
) -> Provision:
    """Record that the order's information goes to a recipient; refused (ProvisionRefused) when
    the register does not allow it or the customer has not consented where they must."""
    now = now or utcnow()
    recipient = _usable(draft.recipient_id, now)
    if not draft.categories or any(c not in PI_TYPE_BY_CODE for c in draft.categories):
        raise ProvisionRefused("no_categories", recipient)
    if not set(draft.categories) <= set(recipient.categories):
        raise ProvisionRefused("not_declared", recipient)  # the public list must stay true
    if draft.purpose not in PURPOSES or (draft.purpose == "other" and not draft.note):
        raise ProvisionRefused("no_purpose", recipient)
    customer = db.session.get(User, order.user_id)
    consent = None
    if recipient.needs_separate_consent:
        consent = consents.active(customer, consents.THIRD_PARTY, recipient.id)
        if consent is None:
            raise ProvisionRefused("needs_consent", recipient)
    provision = Provision(
        user_id=order.user_id,
        recipient_id=recipient.id,
        recipient_name=_both_names(recipient),
        basis="consent" if consent else "entrusted",
        consent_id=consent.id if consent else None,
        categories=[c for c in PI_TYPE_BY_CODE if c in draft.categories],
        order_id=order.id,
        order_number=order.number,
        drawings=_drawings_of(order) if "drawings" in draft.categories else [],
        purpose=draft.purpose,
        note=draft.note or None,
        staff_id=staff.id,
        provided_at=now,
    )
    db.session.add(provision)
    db.session.flush()
    audit_trail.record(
        "staff.provided",
        subject_id=order.user_id,
        actor_id=staff.id,
        target=f"provision:{provision.id}",
    )
    db.session.commit()
    return provision


def _both_names(recipient: Recipient) -> str:
    if recipient.name_zh == recipient.name_en:
        return recipient.name_zh
    return f"{recipient.name_zh} / {recipient.name_en}"


def _drawings_of(order: Order) -> list[dict[str, Any]]:
    """The order's drawings (parts and their 2D drawings) by id and file name."""
    if order.quote_id is not None:
        rows = db.session.execute(
            sa.select(Drawing.id, Drawing.filename)
            .where(Drawing.quote_id == order.quote_id, Drawing.deleted_at.is_(None))
            .order_by(Drawing.id)
        ).all()
        if rows:
            return [{"id": row.id, "filename": row.filename} for row in rows]
    return [  # the quote is gone: the names the order copied
        {"id": part.get("drawing_id"), "filename": name}
        for part in order.parts
        for name in [part.get("name"), *part.get("drawings", [])]
        if name
    ]


def for_order(order: Order) -> list[Provision]:
    """Provisions of one order, newest first (the staff order page)."""
    return list(
        db.session.scalars(
            sa.select(Provision)
            .where(Provision.order_id == order.id)
            .order_by(Provision.provided_at.desc(), Provision.id.desc())
        )
    )


def for_customer(user: User) -> list[Provision]:
    """Everything given to whom, newest first ("My data")."""
    return list(
        db.session.scalars(
            sa.select(Provision)
            .where(Provision.user_id == user.id)
            .order_by(Provision.provided_at.desc(), Provision.id.desc())
        )
    )


# --- separate consent ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentChoice:
    """A recipient that needs separate consent, and the customer's consent to it if in force."""

    recipient: Recipient
    consent: Consent | None
    in_use: bool


def consent_choices(user: User, now: datetime | None = None) -> list[ConsentChoice]:
    """Recipients in use that need separate consent, and ended ones the customer still consents to
    (so the consent can be withdrawn)."""
    today = china_date(now or utcnow())
    found = []
    for recipient in db.session.scalars(sa.select(Recipient).order_by(Recipient.id)):
        if not recipient.needs_separate_consent:
            continue
        consent = consents.active(user, consents.THIRD_PARTY, recipient.id)
        in_use = recipient.is_active_on(today)
        if in_use or consent is not None:
            found.append(ConsentChoice(recipient, consent, in_use))
    return found


def give_consent(
    user: User, recipient_id: int, ip: str | None, source: str = "consents"
) -> Consent:
    """The customer's separate consent to one recipient in use (a second one is not recorded);
    `source` names the channel it was given on, as on every consent record."""
    now = utcnow()
    recipient = _usable(recipient_id, now)
    if not recipient.needs_separate_consent:
        raise ProvisionRefused("no_consent_needed", recipient)
    consent = consents.active(user, consents.THIRD_PARTY, recipient.id)
    if consent is None:
        consent = consents.record(
            user, consents.THIRD_PARTY, ip=ip, source=source, recipient_id=recipient.id
        )
        db.session.commit()
    return consent


def recipient_of(consent: Consent) -> Recipient:
    return db.session.get(Recipient, consent.recipient_id)


def withdraw_consent(user: User, recipient_id: int) -> int:
    """Withdraw the consent to one recipient at once; returns how many were in force."""
    if recipients.get(recipient_id) is None:
        return 0  # no such recipient: nothing can be in force
    count = consents.withdraw(user, consents.THIRD_PARTY, recipient_id)
    db.session.commit()
    return count
