"""Password hashing with argon2id; the policy checks live with registration."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id, per-hash random salt, library defaults (RFC 9106 low-memory)
_DUMMY_HASH = _hasher.hash("dummy password used to equalise timing")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def burn_time(password: str) -> None:
    """Verify against a dummy hash so unknown accounts answer as slowly as known ones."""
    verify_password(_DUMMY_HASH, password)
