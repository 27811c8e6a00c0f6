"""Accountability: one AuditEvent per access to or change of someone's personal information."""

from __future__ import annotations

import logging

from ..extensions import db
from ..models import AuditEvent

log = logging.getLogger(__name__)


def record(
    action: str, *, subject_id: int | None, actor_id: int | None = None, target: str | None = None
) -> AuditEvent:
    """Add an audit event to the session (the caller commits with the change it describes)."""
    event = AuditEvent(actor_id=actor_id, subject_id=subject_id, action=action, target=target)
    db.session.add(event)
    log.info("audit action=%s actor=%s subject=%s target=%s", action, actor_id, subject_id, target)
    return event
