"""Accountability: one AuditEvent per access to or change of someone's personal information."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from ...extensions import db
from ...models import AuditEvent, User

log = logging.getLogger(__name__)
STAFF_ACCESS_SHOWN = 200


def record(
    action: str, *, subject_id: int | None, actor_id: int | None = None, target: str | None = None
) -> AuditEvent:
    """Add an audit event to the session (the caller commits with the change it describes)."""
    event = AuditEvent(actor_id=actor_id, subject_id=subject_id, action=action, target=target)
    db.session.add(event)
    log.info("audit action=%s actor=%s subject=%s target=%s", action, actor_id, subject_id, target)
    return event


def record_staff_look(action: str, staff: User, subject_id: int | None, target: str) -> None:
    """A staff member opened someone's data: logged at once, whether or not they change anything."""
    record(action, subject_id=subject_id, actor_id=staff.id, target=target)
    db.session.commit()


def staff_access_to(user_id: int) -> list[tuple[AuditEvent, str | None]]:
    """Which staff member touched this user's data (not the user's own actions), newest first."""
    rows = db.session.execute(
        sa.select(AuditEvent, User.name)
        .outerjoin(User, AuditEvent.actor_id == User.id)
        .where(
            AuditEvent.subject_id == user_id,
            AuditEvent.actor_id.is_not(None),
            AuditEvent.actor_id != user_id,
        )
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(STAFF_ACCESS_SHOWN)
    )
    return [(event, name) for event, name in rows]


def search(account: int | None, action: str, page: int, size: int) -> list[AuditEvent]:
    """The staff audit page: newest first, optionally one account's (as subject or actor)."""
    query = sa.select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    if account is not None:
        query = query.where(
            sa.or_(AuditEvent.subject_id == account, AuditEvent.actor_id == account)
        )
    if action:
        query = query.where(AuditEvent.action.startswith(action, autoescape=True))
    return list(db.session.scalars(query.limit(size).offset((max(page, 1) - 1) * size)))


def for_target(target: str) -> list[AuditEvent]:
    """Every event about one record (a data request's actions), oldest first."""
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.target == target)
            .order_by(AuditEvent.created_at, AuditEvent.id)
        )
    )
