"""Six-digit SMS codes: issued from `secrets`, kept only as a keyed hash, 10 minutes, 5 tries, once.

Every code is for one purpose (the workflow that sent it): a code sent to sign in finishes no
WeChat sign-up, and a new sign-in code leaves a pending sign-up code alone.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, update

from ...extensions import db
from ...models.base import utcnow
from ...models.phone_code import MAX_ATTEMPTS, PhoneVerification
from .. import sms

LIFETIME_MINUTES = 10
CODE_LIFETIME = timedelta(minutes=LIFETIME_MINUTES)
KEEP_ROWS_FOR = timedelta(days=1)  # then even the hash of a used code is deleted

SIGN_UP = "sign_up"  # the first WeChat sign-in proves its phone
SIGN_IN = "sign_in"  # signing in with a code instead of a password (/login/sms)
REAUTH = "reauth"  # re-authentication of an account without a password
PROVE = "prove"  # confirming the account's phone in the Personal Center
PURPOSES = (SIGN_UP, SIGN_IN, REAUTH, PROVE)


class PhoneCodeError(Exception):
    """A code that does not prove the phone: kind is "missing", "expired", "wrong", "exhausted"."""

    def __init__(self, kind: str, attempts_left: int = 0) -> None:
        super().__init__(kind)
        self.kind = kind
        self.attempts_left = attempts_left


def _hash(phone: str, code: str, purpose: str) -> str:
    """HMAC keyed with SECRET_KEY: a leaked table cannot be brute-forced offline in a second."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{purpose}|{phone}|{code}".encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    """Six random digits, leading zeros included."""
    return f"{secrets.randbelow(10**6):06d}"


def issue(phone: str, now: datetime | None = None, *, purpose: str = SIGN_UP) -> str:
    """A fresh code for `phone`; earlier unused codes for it and this purpose stop working.
    Commits."""
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    now = now or utcnow()
    code = new_code()
    purge_old(now)
    db.session.execute(
        delete(PhoneVerification).where(
            PhoneVerification.phone == phone,
            PhoneVerification.purpose == purpose,
            PhoneVerification.consumed_at.is_(None),
        )
    )
    db.session.add(
        PhoneVerification(
            phone=phone,
            purpose=purpose,
            code_hash=_hash(phone, code, purpose),
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
    )
    db.session.commit()
    return code


def send(phone: str, lang: str, *, purpose: str) -> None:
    """Issue a code for `purpose` and text it to `phone` in `lang` (the one way every workflow
    sends a code). sms.SmsError when it could not be handed over: the visitor tries again."""
    code = issue(phone, purpose=purpose)
    sms.send_code(phone, code, lang, minutes=LIFETIME_MINUTES)


def purge_old(now: datetime | None = None) -> int:
    """Delete every code row older than a day (retention); the caller commits."""
    cutoff = (now or utcnow()) - KEEP_ROWS_FOR
    result = db.session.execute(
        delete(PhoneVerification).where(PhoneVerification.created_at < cutoff)
    )
    return result.rowcount or 0


def _newest(phone: str, purpose: str) -> PhoneVerification | None:
    """The newest unused code sent to this phone for this purpose."""
    return db.session.scalar(
        db.select(PhoneVerification)
        .filter_by(phone=phone, purpose=purpose, consumed_at=None)
        .order_by(PhoneVerification.created_at.desc(), PhoneVerification.id.desc())
        .limit(1)
    )


def verify(phone: str, code: str, now: datetime | None = None, *, purpose: str = SIGN_UP) -> None:
    """Accept the code once, or raise PhoneCodeError; every wrong try counts. Commits."""
    now = now or utcnow()
    row = _newest(phone, purpose)
    if row is None:
        raise PhoneCodeError("missing")
    if row.attempts >= MAX_ATTEMPTS:
        raise PhoneCodeError("exhausted")
    if now >= row.expires_at:
        raise PhoneCodeError("expired")
    if hmac.compare_digest(row.code_hash, _hash(phone, (code or "").strip(), purpose)):
        # one UPDATE decides, so two simultaneous submissions cannot both use the code
        used = db.session.execute(
            update(PhoneVerification)
            .where(PhoneVerification.id == row.id, PhoneVerification.consumed_at.is_(None))
            .values(consumed_at=now)
        ).rowcount
        db.session.commit()
        if used != 1:
            raise PhoneCodeError("missing")
        return
    db.session.execute(
        update(PhoneVerification)
        .where(PhoneVerification.id == row.id)
        .values(attempts=PhoneVerification.attempts + 1)
    )
    db.session.commit()
    db.session.refresh(row)
    left = MAX_ATTEMPTS - row.attempts
    raise PhoneCodeError("wrong" if left > 0 else "exhausted", max(left, 0))
