"""Data-protection requests (policy 5.7): filed, verified, due in 15 working days, answered in the app.

A signed-in user's request is verified by the session. A visitor proves their e-mail address with
a six-digit code we mail; only a keyed hash of the code is kept, it expires after 30 minutes and
dies after five wrong tries. The due date runs from verification, by China's official calendar.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from ...extensions import db
from ...models import PrivacyRequest, User
from ...models.base import utcnow
from ..mail import external_url, send_mail
from ..working_days import add_working_days, china_date
from . import audit_trail

KIND_LABELS = {
    "copy": _l("A copy of my personal information"),
    "transfer": _l("Transfer my personal information to another processor"),
    "correction": _l("Correct or complete my personal information"),
    "deletion": _l("Delete my personal information"),
    "withdrawal": _l("Withdraw my consent"),
    "question": _l("A question about how my information is processed"),
    "complaint": _l("A complaint"),
    "other": _l("Something else"),
}
STATUS_LABELS = {
    "unverified": _l("Waiting for the e-mail code"),
    "open": _l("Received"),
    "in_progress": _l("Being handled"),
    "answered": _l("Answered"),
    "declined": _l("Declined"),
}
# why a request may be declined (policy 5.7, and 5.4 for what the law makes us keep): the
# requester reads the reason on their requests page and in our mail, with staff's note
DECLINE_REASONS = {
    "repetitive": _l("It repeats a request we have already answered, with nothing new to do."),
    "excessive": _l(
        "It would need excessive technical means, such as developing a new system, or a "
        "fundamental change in our practice."
    ),
    "others_rights": _l("Answering it would put the legal rights of others at risk."),
    "impractical": _l("It is highly impractical."),
    "identity": _l("We could not verify that the request comes from the person it is about."),
    "kept_by_law": _l("The law requires us to keep this information for now."),
}
CODE_LIFETIME = timedelta(minutes=30)
MAX_CODE_ATTEMPTS = 5


class CodeError(Exception):
    """The e-mail code cannot confirm the request."""


class CodeWrong(CodeError):
    """Not the code we sent (attempts are counted)."""


class CodeExpired(CodeError):
    """Too old, or too many wrong tries: ask for a new one."""


def due_date(start: datetime) -> date:
    """15 working days after `start` by China's official calendar (holidays, swapped weekends)."""
    return add_working_days(start, current_app.config["PRIVACY_REQUEST_WORKING_DAYS"])


def is_overdue(req: PrivacyRequest, today: date | None = None) -> bool:
    """Still open after its due date (China time)."""
    today = today or china_date(utcnow())
    return not req.is_closed and req.due_on is not None and req.due_on < today


@dataclass(frozen=True)
class Draft:
    """What the requester asks for, as the form gives it."""

    kind: str
    details: str | None = None
    processor: str | None = None  # a transfer's recipient

    def new_request(self, email: str | None, lang: str | None) -> PrivacyRequest:
        """An unsaved request answered in `lang`; a recipient is kept only for a transfer."""
        return PrivacyRequest(
            email=email,
            language=lang if lang in ("zh_CN", "en") else "zh_CN",
            kind=self.kind,
            processor=self.processor if self.kind == "transfer" else None,
            details=self.details,
        )


def file_for_user(user: User, draft: Draft, lang: str | None) -> PrivacyRequest:
    """A signed-in user's request: verified at once, due in 15 working days, acknowledged by mail."""
    now = utcnow()
    req = draft.new_request(user.email, user.preferred_language or lang)
    req.user_id = user.id
    req.status = "open"
    req.created_at = req.verified_at = now
    req.due_on = due_date(now)
    db.session.add(req)
    db.session.flush()
    audit_trail.record("request.filed", subject_id=user.id, actor_id=user.id, target=_target(req))
    _acknowledge(req)
    db.session.commit()
    return req


def start_for_visitor(email: str, draft: Draft, lang: str | None) -> PrivacyRequest:
    """A visitor's request waits, unverified and without a due date, until they type the code."""
    req = draft.new_request(email.strip().lower(), lang)
    req.status = "unverified"
    db.session.add(req)
    db.session.flush()
    send_code(req)
    return req


def send_code(req: PrivacyRequest) -> None:
    """A fresh six-digit code (the old one stops working), mailed to the address to prove."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    req.code_hash = _code_hash(req, code)
    req.code_expires_at = utcnow() + CODE_LIFETIME
    req.code_attempts = 0
    send_mail(req.email, "request_code", req.language, code=code, kind=KIND_LABELS[req.kind])
    db.session.commit()


def _code_hash(req: PrivacyRequest, code: str) -> str:
    """A keyed hash bound to this request: a stolen database does not reveal live codes."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"privacy-request:{req.public_id}:{code}".encode(), "sha256").hexdigest()


def confirm_code(req: PrivacyRequest, code: str) -> PrivacyRequest:
    """Check the mailed code; on success the request is filed and its 15 working days start."""
    if req.status != "unverified":
        return req
    now = utcnow()
    if (
        req.code_hash is None
        or req.code_expires_at is None
        or req.code_expires_at <= now
        or req.code_attempts >= MAX_CODE_ATTEMPTS
    ):
        raise CodeExpired
    req.code_attempts += 1
    if not hmac.compare_digest(req.code_hash, _code_hash(req, (code or "").strip())):
        db.session.commit()
        raise CodeWrong
    req.code_hash = None
    req.code_expires_at = None
    req.status = "open"
    req.verified_at = now
    req.due_on = due_date(now)
    account = db.session.scalar(sa.select(User).filter_by(email=req.email))
    if account is not None and account.erased_at is None:
        req.user_id = account.id  # the address is proven: staff see whose data it is about
    audit_trail.record("request.filed", subject_id=req.user_id, target=_target(req))
    _acknowledge(req)
    db.session.commit()
    return req


def pending_for_visitor(public_id: str | None) -> PrivacyRequest | None:
    """The visitor's request named in their session (a random id, never a guessable number)."""
    if not public_id:
        return None
    return db.session.scalar(sa.select(PrivacyRequest).filter_by(public_id=public_id))


def _acknowledge(req: PrivacyRequest) -> None:
    """Mail the requester the due date, and tell staff a request is waiting."""
    if req.email:
        send_mail(
            req.email,
            "request_received",
            req.language,
            kind=KIND_LABELS[req.kind],
            due_on=req.due_on,
            status_url=external_url("privacy.requests"),
        )
    send_mail(
        current_app.config["CONTACT_EMAIL"],
        "request_staff",
        "zh_CN",
        kind=KIND_LABELS[req.kind],
        due_on=req.due_on,
        queue_url=external_url("admin.privacy_request", request_id=req.id),
    )


def _target(req: PrivacyRequest) -> str:
    return f"request:{req.id}"


def open_for_staff(request_id: int, staff: User) -> PrivacyRequest | None:
    """A filed request for a staff member to read; reading it is on the requester's audit trail."""
    req = db.session.get(PrivacyRequest, request_id)
    if req is None or req.status == "unverified":
        return None
    audit_trail.record_staff_look("staff.viewed_request", staff, req.user_id, _target(req))
    return req


def look_up_accounts(staff: User, query: str) -> list[User]:
    """A staff search shows e-mail addresses and phones: each account found is logged on its
    owner's record, as opening the account is."""
    found = find_accounts(query)
    for account in found:
        audit_trail.record(
            "staff.found_user",
            subject_id=account.id,
            actor_id=staff.id,
            target=f"user:{account.id}",
        )
    if found:
        db.session.commit()
    return found


def find_accounts(query: str, limit: int = 20) -> list[User]:
    """Staff look up whose request it is: by exact e-mail address, phone number or account id."""
    query = query.strip()
    if not query:
        return []
    conditions = [User.email == query.lower(), User.phone == query]
    if query.isdigit():
        conditions.append(User.id == int(query))
    return list(db.session.scalars(sa.select(User).where(sa.or_(*conditions)).limit(limit)))


def for_user(user: User) -> list[PrivacyRequest]:
    """The user's requests, newest first (unverified visitor requests are not theirs yet)."""
    return list(
        db.session.scalars(
            sa.select(PrivacyRequest)
            .where(PrivacyRequest.user_id == user.id, PrivacyRequest.status != "unverified")
            .order_by(PrivacyRequest.created_at.desc())
        )
    )


def queue(*, include_closed: bool = False) -> list[PrivacyRequest]:
    """The staff queue: soonest due first, so overdue requests are at the top."""
    query = sa.select(PrivacyRequest).where(PrivacyRequest.status != "unverified")
    if not include_closed:
        query = query.where(PrivacyRequest.status.in_(("open", "in_progress")))
    return list(db.session.scalars(query.order_by(PrivacyRequest.due_on, PrivacyRequest.id)))


def queue_counts(today: date | None = None) -> dict[str, int]:
    """For the staff dashboard: requests waiting for an answer, and how many are overdue."""
    today = today or china_date(utcnow())
    waiting = sa.select(sa.func.count(PrivacyRequest.id)).where(
        PrivacyRequest.status.in_(("open", "in_progress"))
    )
    return {
        "open": db.session.scalar(waiting),
        "overdue": db.session.scalar(waiting.where(PrivacyRequest.due_on < today)),
    }


def answer(
    req: PrivacyRequest, staff: User, text: str, status: str, decline_reason: str | None = None
) -> None:
    """Staff reply in the app; the requester gets it by mail in their language. Declining needs
    one of DECLINE_REASONS (policy 5.7), which the requester sees with the text."""
    if status not in ("in_progress", "answered", "declined"):
        raise ValueError(status)
    if status == "declined" and decline_reason not in DECLINE_REASONS:
        raise ValueError(decline_reason)
    req.status = status
    req.decline_reason = decline_reason if status == "declined" else None
    if text:
        req.answer = text
    if status != "in_progress":
        req.answered_at = utcnow()
        req.answered_by_id = staff.id
    audit_trail.record(
        f"staff.request_{status}", subject_id=req.user_id, actor_id=staff.id, target=_target(req)
    )
    if req.email and status != "in_progress":
        send_mail(
            req.email,
            "request_answered",
            req.language,
            kind=KIND_LABELS[req.kind],
            status=STATUS_LABELS[status],
            reason=DECLINE_REASONS.get(req.decline_reason or ""),
            answer=req.answer or "",
            status_url=external_url("privacy.requests"),
        )
    db.session.commit()
