"""Every model module is imported here so that Alembic and `db.create_all` see all tables."""

from .audit import AuditEvent, SignInEvent
from .consent import Consent
from .user import User, WeChatIdentity

__all__ = ["AuditEvent", "Consent", "SignInEvent", "User", "WeChatIdentity"]
