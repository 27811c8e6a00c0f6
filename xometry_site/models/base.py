"""Column helpers shared by every model."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """Callable default for time columns: always aware UTC."""
    return datetime.now(UTC)


def new_token(nbytes: int = 16) -> str:
    """Random URL-safe token for ids that must not be guessable."""
    return secrets.token_urlsafe(nbytes)


class UTCDateTime(TypeDecorator):
    """Stores UTC and gives back aware datetimes on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value
