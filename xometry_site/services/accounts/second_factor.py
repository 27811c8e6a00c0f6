"""Staff sign-in's second factor: TOTP (RFC 6238) from an authenticator app, and recovery codes.

A staff member enrols once: a fresh secret is shown as a QR code and as text, and the enrolment
holds only when a code from the app is right. Ten recovery codes are shown then, once; only their
SHA-256 is kept and each works once. A code is accepted one 30-second step either side of ours
(a phone's clock may drift) and never twice (the step used last is kept). A staff member who lost
the phone signs in with a recovery code, or another staff member resets the enrolment, which ends
every session of that account and is audited; the next sign-in enrols again.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

import pyotp
import segno
import sqlalchemy as sa

from ...extensions import db
from ...models import StaffRecoveryCode, StaffSecondFactor, User
from ...models.base import utcnow
from ..mail import external_url, send_mail
from ..privacy import audit_trail
from .subscriptions import mail_language

ISSUER = "Xometry Asia"
RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_GROUPS = 4  # xxxx-xxxx-xxxx-xxxx: 16 base32 characters, 80 bits
DRIFT_STEPS = 1
_NOT_CODE = re.compile(r"[\s-]+")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # base32 (RFC 4648), lower case


class NotEnrolled(Exception):
    """The staff member has no confirmed authenticator: enrol first."""


def factor_of(user: User) -> StaffSecondFactor | None:
    """The staff member's authenticator, confirmed or still being enrolled."""
    return db.session.scalar(sa.select(StaffSecondFactor).filter_by(user_id=user.id))


def is_enrolled(user: User) -> bool:
    """An authenticator whose first code was right: the sign-in asks for its codes."""
    factor = factor_of(user)
    return factor is not None and factor.confirmed_at is not None


def start_enrolment(user: User) -> StaffSecondFactor:
    """A secret for the QR code; a reload shows the same one until the enrolment is confirmed."""
    factor = factor_of(user)
    if factor is not None and factor.confirmed_at is not None:
        raise ValueError("already enrolled")
    if factor is None:
        factor = StaffSecondFactor(user_id=user.id, secret=pyotp.random_base32())
        db.session.add(factor)
        db.session.commit()
    return factor


def provisioning_uri(factor: StaffSecondFactor, user: User) -> str:
    """The otpauth:// address the QR code carries (the app shows the issuer and the account)."""
    return pyotp.TOTP(factor.secret).provisioning_uri(
        name=user.email or f"staff-{user.id}", issuer_name=ISSUER
    )


def qr_code(uri: str) -> str:
    """The QR code as a data: URI (SVG), drawn here: no outside service sees the secret."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def grouped(secret: str) -> str:
    """The secret as people type it into an app, in groups of four."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def confirm_enrolment(user: User, code: str, *, now: datetime | None = None) -> list[str] | None:
    """The first right code completes the enrolment; returns the recovery codes (shown once),
    None when the code is wrong."""
    factor = factor_of(user)
    if factor is None or factor.confirmed_at is not None:
        return None
    now = now or utcnow()
    step = _matching_step(factor, code, now)
    if step is None:
        return None
    factor.confirmed_at = factor.last_used_at = now
    factor.last_step = step
    codes = _new_recovery_codes(factor)
    audit_trail.record(
        "staff.second_factor_enrolled", subject_id=user.id, actor_id=user.id, target=_target(user)
    )
    db.session.commit()
    return codes


def verify(user: User, code: str, *, now: datetime | None = None) -> str | None:
    """Check a sign-in code: "totp" or "recovery" when it is good (and now used up), else None."""
    factor = factor_of(user)
    if factor is None or factor.confirmed_at is None:
        raise NotEnrolled
    now = now or utcnow()
    step = _matching_step(factor, code, now)
    if step is not None and _claim_step(factor, step, now):
        return "totp"
    if _use_recovery_code(factor, code, now):
        audit_trail.record(
            "staff.recovery_code_used", subject_id=user.id, actor_id=user.id, target=_target(user)
        )
        db.session.commit()
        return "recovery"
    db.session.rollback()
    return None


def recovery_codes_left(user: User) -> int:
    """How many recovery codes still work (the staff page warns when few are left)."""
    factor = factor_of(user)
    if factor is None:
        return 0
    return db.session.scalar(
        sa.select(sa.func.count(StaffRecoveryCode.id)).where(
            StaffRecoveryCode.factor_id == factor.id, StaffRecoveryCode.used_at.is_(None)
        )
    )


def reset(user: User, staff: User | None) -> bool:
    """Another staff member (or, with None, the `flask users reset-second-factor` command) removes
    a lost authenticator: every session of the account ends, the next sign-in enrols again, the
    owner is told by mail. False when there was none."""
    factor = factor_of(user)
    if factor is None:
        return False
    db.session.delete(factor)
    user.end_all_sessions()
    audit_trail.record(
        "staff.second_factor_reset",
        subject_id=user.id,
        actor_id=staff.id if staff else None,
        target=_target(user),
    )
    if user.email:
        send_mail(
            user.email,
            "second_factor_reset",
            mail_language(user),
            user_name=user.name,
            login_url=external_url("auth.login"),
        )
    db.session.commit()
    return True


def _target(user: User) -> str:
    return f"user:{user.id}"


def _normalise(code: str | None) -> str:
    return _NOT_CODE.sub("", code or "").lower()


def _matching_step(factor: StaffSecondFactor, code: str, now: datetime) -> int | None:
    """The time step whose code this is (ours, or one either side), compared in constant time."""
    code = _normalise(code)
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(factor.secret)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _claim_step(factor: StaffSecondFactor, step: int, now: datetime) -> bool:
    """Use the step once: a code seen already (or an older one) is refused, even if two requests
    bring it at the same moment (one conditional update wins)."""
    table = StaffSecondFactor.__table__
    claimed = db.session.execute(
        sa.update(table)
        .where(
            table.c.id == factor.id,
            sa.or_(table.c.last_step.is_(None), table.c.last_step < step),
        )
        .values(last_step=step, last_used_at=now)
    ).rowcount
    db.session.commit()
    db.session.expire(factor)
    return claimed == 1


def _hash(code: str) -> str:
    return hashlib.sha256(f"xometry-staff-recovery:{code}".encode()).hexdigest()


def _new_recovery_codes(factor: StaffSecondFactor) -> list[str]:
    """Ten fresh codes; the old ones (if any) stop working. Only hashes are stored."""
    for old in list(factor.recovery_codes):
        db.session.delete(old)
    codes = []
    for _n in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_ALPHABET) for _c in range(4 * RECOVERY_CODE_GROUPS))
        codes.append("-".join(raw[i : i + 4] for i in range(0, len(raw), 4)))
        factor.recovery_codes.append(StaffRecoveryCode(code_hash=_hash(raw)))
    return codes


def _use_recovery_code(factor: StaffSecondFactor, code: str, now: datetime) -> bool:
    """Spend one recovery code (the update that marks it used is the check)."""
    code = _normalise(code)
    if len(code) != 4 * RECOVERY_CODE_GROUPS:
        return False
    table = StaffRecoveryCode.__table__
    used = db.session.execute(
        sa.update(table)
        .where(
            table.c.factor_id == factor.id,
            table.c.code_hash == _hash(code),
            table.c.used_at.is_(None),
        )
        .values(used_at=now)
    ).rowcount
    return used == 1
