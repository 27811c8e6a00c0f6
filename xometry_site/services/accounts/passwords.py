"""Password hashing (argon2id) and the password rules: length, a local list of common ones, no echo of
the account's own e-mail or name. No composition rules (ASVS 2.1.9): length and rarity protect."""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context

MIN_LENGTH = 8
MAX_LENGTH = 1024  # long passphrases are welcome; argon2 takes them whole, nothing is truncated
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parents[2] / "data" / "common_passwords.txt.gz"

_STRONG = PasswordHasher()  # argon2id, per-hash random salt, library defaults (RFC 9106 low-memory)
# Tests only (PASSWORD_HASH_FAST, refused in production): the same algorithm at minimal cost, so
# the suite does not spend minutes hashing. Verification reads the cost from each hash.
_FAST = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
_DUMMY_HASHES: dict[int, str] = {}


def _hasher() -> PasswordHasher:
    if has_app_context() and current_app.config.get("PASSWORD_HASH_FAST"):
        return _FAST
    return _STRONG


class PasswordRejected(ValueError):
    """The password breaks a rule; `reason` is one of REASONS, for the form to explain."""

    REASONS = ("too_short", "too_long", "common", "personal")

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def hash_password(password: str) -> str:
    """argon2id with a fresh salt (minimal cost only under PASSWORD_HASH_FAST in tests)."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """False for a wrong password and for a damaged or foreign hash alike."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def burn_time(password: str) -> None:
    """Verify against a dummy hash so unknown accounts answer as slowly as known ones."""
    hasher = _hasher()
    dummy = _DUMMY_HASHES.get(id(hasher))
    if dummy is None:
        dummy = _DUMMY_HASHES[id(hasher)] = hasher.hash("dummy password used to equalise timing")
    verify_password(dummy, password)


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list (lowercased, most common first), loaded once per process."""
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip() for line in fh if line.strip())


def _squash(value: str | None) -> str:
    return "".join((value or "").split()).casefold()


def is_common(password: str) -> bool:
    """Compared without case or surrounding spaces, as people vary those."""
    return password.strip().lower() in common_passwords()


def check_password_policy(password: str, *, email: str | None = None, name: str | None = None):
    """Raise PasswordRejected when `password` breaks a rule; return None when it may be used."""
    if len(password) < MIN_LENGTH:
        raise PasswordRejected("too_short")
    if len(password) > MAX_LENGTH:
        raise PasswordRejected("too_long")
    if is_common(password):
        raise PasswordRejected("common")
    squashed = _squash(password)
    local_part = (email or "").partition("@")[0]
    personal = {_squash(email), _squash(local_part), _squash(name)} - {""}
    if squashed in personal:
        raise PasswordRejected("personal")
