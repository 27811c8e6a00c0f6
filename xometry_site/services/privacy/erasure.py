"""Deregistration and erasure (policy 5.4, 5.6, 6), driven by the personal-information registry.

Deregistering signs the user out everywhere and blocks sign-in at once; the data is erased after a
cooling-off (DEREGISTRATION_COOLING_OFF_DAYS, cancellable from the confirmation mail) and never
later than 15 working days by China's official calendar. Erasure deletes or empties every personal
column the registry lists, crypto-shreds drawings and exports (the row holding the wrapped data key
goes first, the ciphertext after the commit), keeps consent evidence under an HMAC pseudonym and
keeps quotes that became orders as long as the E-Commerce Law requires. The account row stays as
an empty stub so audit records keep pointing at something.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ...extensions import db
from ...models import Drawing, Order, Quote, QuoteEvent, QuoteMessage, User
from ...models.base import utcnow
from ..jobs import enqueue, task
from ..mail import external_url, send_mail
from ..quotes.sharing import delete_shares_of
from ..storage import get_storage
from ..working_days import CHINA_TIME, add_working_days
from . import audit_trail
from .pi_registry import ERASE, Entry, live_entries, owner_clause

log = logging.getLogger(__name__)
CANCEL_SALT = "xometry-deregister-cancel"


def pseudonym(user_id: int) -> str:
    """A stable HMAC of the account id: links kept evidence together without naming anyone."""
    key = hmac.new(
        current_app.config["SECRET_KEY"].encode(), b"xometry-pseudonym-v1", hashlib.sha256
    ).digest()
    return hmac.new(key, f"user:{user_id}".encode(), hashlib.sha256).hexdigest()


def mail_language(user: User) -> str:
    """The language the user reads our mail in (Chinese unless they chose English)."""
    return user.preferred_language if user.preferred_language in ("zh_CN", "en") else "zh_CN"


def latest_erasure(start: datetime) -> datetime:
    """The promise: 15 working days (China's calendar) after the request, at the start of that day."""
    due = add_working_days(start, current_app.config["PRIVACY_REQUEST_WORKING_DAYS"])
    return datetime.combine(due, time.min, CHINA_TIME)


def erasure_date(start: datetime) -> datetime:
    """When a deregistered account is erased: after the cooling-off, but never past the promise."""
    cooling = timedelta(days=current_app.config["DEREGISTRATION_COOLING_OFF_DAYS"])
    return min(start + cooling, latest_erasure(start))


# --- deregistration ------------------------------------------------------------------------------


def deregister(user: User, *, now: datetime | None = None, actor: User | None = None) -> datetime:
    """End every session, block sign-in, schedule erasure, mail a cancellable confirmation.

    `actor` is the staff member who closes the account for its owner (a request by contact, 5.6);
    by default the owner themselves."""
    now = now or utcnow()
    user.deregistered_at = now
    user.erase_after = erasure_date(now)
    user.end_all_sessions()
    audit_trail.record("account.deregistered", subject_id=user.id, actor_id=(actor or user).id)
    cancellable = user.erase_after > now
    if user.email:
        send_mail(
            user.email,
            "deregister_confirm",
            mail_language(user),
            user_name=user.name,
            erase_after=user.erase_after,
            cancel_url=(
                external_url("privacy.deregister_cancel", token=cancel_token(user))
                if cancellable
                else None
            ),
        )
    db.session.commit()  # the deregistration and its mail together
    if not cancellable:
        enqueue(erase_account_job, user.id)
    return user.erase_after


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CANCEL_SALT)


def cancel_token(user: User) -> str:
    """A link that undoes this deregistration (and no other) until the erasure runs."""
    stamp = int(user.deregistered_at.timestamp()) if user.deregistered_at else 0
    return _serializer().dumps({"u": user.id, "t": stamp})


def user_for_cancel(token: str, *, now: datetime | None = None) -> User | None:
    """The deregistered, not yet erased account a cancel link belongs to; None if it is void."""
    try:
        payload = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    user = db.session.get(User, payload.get("u"))
    if user is None or user.deregistered_at is None or user.erased_at is not None:
        return None
    if int(user.deregistered_at.timestamp()) != payload.get("t") or user.is_minor:
        return None
    if user.erase_after is not None and user.erase_after <= (now or utcnow()):
        return None
    return user


def cancel_deregistration(user: User) -> None:
    """Keep the account after all: it can be signed in to again, nothing was erased."""
    user.deregistered_at = None
    user.erase_after = None
    audit_trail.record("account.deregistration_cancelled", subject_id=user.id, actor_id=user.id)
    db.session.commit()


def mark_minor(user: User, staff: User) -> None:
    """Policy 6: a minor's account found without a guardian's consent is erased promptly."""
    now = utcnow()
    user.is_minor = True
    user.deregistered_at = user.deregistered_at or now
    user.erase_after = now
    user.end_all_sessions()
    audit_trail.record("staff.marked_minor", subject_id=user.id, actor_id=staff.id)
    db.session.commit()
    enqueue(erase_account_job, user.id)


# --- erasure -------------------------------------------------------------------------------------


@dataclass
class ErasureResult:
    """What one erasure did, for the purge report."""

    user_id: int
    deleted_rows: int = 0
    updated_rows: int = 0
    kept_rows: int = 0
    blobs: list[str] = field(default_factory=list)


@task
def erase_account_job(user_id: int) -> None:
    """Job: erase one account if it is due (idempotent; a second run finds nothing to do)."""
    erase_account(user_id)


def erase_account(
    user_id: int, *, now: datetime | None = None, notify: bool = True
) -> ErasureResult | None:
    """Erase a deregistered account whose date has come; None when not due or already done.

    The row is picked with FOR UPDATE SKIP LOCKED on PostgreSQL (a concurrent purge skips it) and
    claimed by a conditional update of `erased_at` (so on SQLite too only one run erases it); a
    repeated run finds nothing to do.
    """
    now = now or utcnow()
    due = (
        User.id == user_id,
        User.erased_at.is_(None),
        User.deregistered_at.is_not(None),
        User.erase_after <= now,
    )
    user = db.session.scalar(sa.select(User).where(*due).with_for_update(skip_locked=True))
    if user is None:
        db.session.rollback()
        return None
    claimed = db.session.execute(sa.update(User).where(*due).values(erased_at=now)).rowcount
    if claimed != 1:
        db.session.rollback()
        return None
    email, name, lang = user.email, user.name, mail_language(user)
    result = ErasureResult(user_id)
    _erase_rows(user_id, result, now)
    db.session.expire(user)
    user.end_all_sessions()
    audit_trail.record("account.erased", subject_id=user_id, target=f"rows:{result.deleted_rows}")
    if email and notify:  # written after the erasure deleted the account's earlier messages
        send_mail(email, "deregister_done", lang, user_name=name, kept=result.kept_rows)
    db.session.commit()
    destroy_blobs(result.blobs)
    log.info(
        "erasure.done user=%s deleted=%s updated=%s kept=%s blobs=%s",
        user_id,
        result.deleted_rows,
        result.updated_rows,
        result.kept_rows,
        len(result.blobs),
    )
    return result


def _children_first(metadata: sa.MetaData) -> list[tuple[Entry, sa.Table]]:
    """Entries ordered so that a table comes before the tables it points at (users last)."""
    rank = {t.name: i for i, t in enumerate(reversed(metadata.sorted_tables))}
    return sorted(
        live_entries(metadata), key=lambda item: (item[0].table == "users", rank[item[1].name])
    )


def _erase_rows(user_id: int, result: ErasureResult, now: datetime) -> None:
    """Apply each registry entry's erasure rule to the user's rows, children before parents."""
    metadata = db.metadata
    subject = pseudonym(user_id)
    for entry, table in _children_first(metadata):
        mine = owner_clause(entry, table, metadata, user_id)
        if entry.table == "users":
            _empty_columns(entry, table, mine, result)
            continue
        if entry.on_erasure == "keep":
            continue
        kept = entry.keep_by_law(table) if entry.keep_by_law is not None else sa.false()
        if entry.keep_by_law is not None:
            result.kept_rows += db.session.scalar(
                sa.select(sa.func.count()).select_from(table).where(mine, kept)
            )
        doomed = sa.and_(mine, sa.not_(kept))
        if entry.on_erasure == "delete":
            _collect_blobs(entry, table, doomed, result)
            result.deleted_rows += db.session.execute(sa.delete(table).where(doomed)).rowcount
        else:
            _pseudonymise(entry, table, doomed, subject, now, result)


def _empty_columns(
    entry: Entry, table: sa.Table, where: sa.ColumnElement[bool], result: ErasureResult
) -> None:
    values = {c.name: None for c in entry.columns(table) if c.erasure == ERASE}
    result.updated_rows += db.session.execute(sa.update(table).where(where).values(values)).rowcount


def _pseudonymise(
    entry: Entry,
    table: sa.Table,
    where: sa.ColumnElement[bool],
    subject: str,
    now: datetime,
    result: ErasureResult,
) -> None:
    """Keep the evidence, drop what identifies: erase columns emptied, the link → pseudonym."""
    values = {c.name: None for c in entry.columns(table) if c.erasure == ERASE}
    if "subject_ref" in table.c:
        values["subject_ref"] = subject
    if entry.owner in table.c and table.c[entry.owner].nullable:
        values[entry.owner] = None
    if "withdrawn_at" in table.c:  # a consent ends with the account
        db.session.execute(
            sa.update(table).where(where, table.c.withdrawn_at.is_(None)).values(withdrawn_at=now)
        )
    result.updated_rows += db.session.execute(sa.update(table).where(where).values(values)).rowcount


def _collect_blobs(
    entry: Entry, table: sa.Table, where: sa.ColumnElement[bool], result: ErasureResult
) -> None:
    """Remember the files of rows about to go: they are deleted after the commit."""
    for blob in entry.blobs:
        column = table.c[blob.blob_id]
        ids = db.session.scalars(sa.select(column).where(where, column.is_not(None))).all()
        result.blobs.extend(ids)


def destroy_blobs(blob_ids: list[str]) -> None:
    """After the commit: the wrapped keys are gone, now remove the ciphertext too."""
    storage = get_storage(current_app._get_current_object())  # type: ignore[attr-defined]
    for blob_id in blob_ids:
        try:
            storage.delete(blob_id)
        except Exception:  # the sweeper removes what is left; the key is gone already
            log.exception("erasure.blob_delete_failed")


def due_accounts(now: datetime, limit: int = 100) -> list[int]:
    """Ids of deregistered accounts whose erasure date has come."""
    return list(
        db.session.scalars(
            sa.select(User.id)
            .where(
                User.deregistered_at.is_not(None),
                User.erased_at.is_(None),
                User.erase_after <= now,
            )
            .order_by(User.erase_after)
            .limit(limit)
        )
    )


# --- deleting drawings ---------------------------------------------------------------------------


@dataclass
class DrawingDeletion:
    """Drawings shredded, and those the law makes us keep (with their quote), to explain."""

    shredded: int = 0
    kept: list[Drawing] = field(default_factory=list)


def kept_drawings(user: User) -> list[Drawing]:
    """The user's drawings that belong to orders: kept as long as the law requires."""
    return list(
        db.session.scalars(
            sa.select(Drawing)
            .join(Quote, Drawing.quote_id == Quote.id)
            .where(Drawing.user_id == user.id, Drawing.deleted_at.is_(None))
            .where(Quote.status == "ordered")
            .order_by(Drawing.id)
        )
    )


@dataclass(frozen=True)
class DrawingPlace:
    """Where a drawing belongs, for "My data": its quote, and the order that keeps it (if any)."""

    quote_ref: str
    kept: bool  # its quote became an order: kept as the law requires, never deleted by us
    order_number: str | None


def drawing_places(user: User) -> dict[int, DrawingPlace]:
    """Each readable drawing's quote reference and whether an order keeps it, in one query."""
    rows = db.session.execute(
        sa.select(Drawing.id, Quote.ref, Quote.status, Order.number)
        .join(Quote, Drawing.quote_id == Quote.id)
        .outerjoin(Order, Order.quote_id == Quote.id)
        .where(Drawing.user_id == user.id, Drawing.deleted_at.is_(None))
    )
    return {
        drawing_id: DrawingPlace(ref, status == "ordered", number)
        for drawing_id, ref, status, number in rows
    }


def delete_drawings(
    user: User, drawing_ids: list[int] | None = None, *, actor: User | None = None
) -> DrawingDeletion:
    """Crypto-shred the user's drawings (all, or these ids), except those of orders; `actor` is
    the staff member acting on the owner's request, by default the owner."""
    query = (
        sa.select(Drawing)
        .join(Quote, Drawing.quote_id == Quote.id)
        .where(Drawing.user_id == user.id, Drawing.deleted_at.is_(None))
    )
    if drawing_ids is not None:
        query = query.where(Drawing.id.in_(drawing_ids))
    outcome = DrawingDeletion()
    blobs: list[str] = []
    for drawing in db.session.scalars(query.order_by(Drawing.id)):
        if drawing.quote.status == "ordered":
            outcome.kept.append(drawing)
            continue
        blobs.extend(drawing.shred())
        drawing.filename = "-"  # the name may say what the part is; the row only proves a file was
        drawing.geometry = None
        outcome.shredded += 1
        audit_trail.record(
            "drawing.deleted",
            subject_id=user.id,
            actor_id=(actor or user).id,
            target=f"drawing:{drawing.id}",
        )
    db.session.commit()
    destroy_blobs(blobs)
    return outcome


def live_drawing_count(user: User) -> int:
    """How many of the user's drawings can still be read (the delete-all page says it)."""
    return db.session.scalar(
        sa.select(sa.func.count(Drawing.id)).where(
            Drawing.user_id == user.id, Drawing.deleted_at.is_(None)
        )
    )


class QuoteKept(Exception):
    """The quote became an order: the law makes us keep it (explained, never silently kept)."""


def delete_quote(user: User, ref: str, *, actor: User | None = None) -> bool:
    """Delete one of the user's quotes with its history and drawings; False if they have none such.
    `actor` is the staff member acting on the owner's request, by default the owner."""
    quote = db.session.scalar(sa.select(Quote).where(Quote.user_id == user.id, Quote.ref == ref))
    if quote is None:
        return False
    if quote.status == "ordered":
        raise QuoteKept
    audit_trail.record(
        "quote.deleted",
        subject_id=user.id,
        actor_id=(actor or user).id,
        target=f"quote:{quote.id}",
    )
    delete_quote_rows([quote.id])
    return True


def delete_quote_rows(quote_ids: list[int]) -> int:
    """Quotes with their history, questions, share links and drawings; the drawings' keys go with
    the rows,
    files after."""
    if not quote_ids:
        return 0
    blobs: list[str] = []
    for row in db.session.execute(
        sa.select(Drawing.blob_id, Drawing.preview_blob_id, Drawing.mesh_blob_id).where(
            Drawing.quote_id.in_(quote_ids)
        )
    ):
        blobs.extend(b for b in row if b)
    delete_shares_of(quote_ids)
    db.session.execute(sa.delete(Drawing).where(Drawing.quote_id.in_(quote_ids)))
    db.session.execute(sa.delete(QuoteEvent).where(QuoteEvent.quote_id.in_(quote_ids)))
    db.session.execute(sa.delete(QuoteMessage).where(QuoteMessage.quote_id.in_(quote_ids)))
    count = db.session.execute(sa.delete(Quote).where(Quote.id.in_(quote_ids))).rowcount
    db.session.commit()
    destroy_blobs(blobs)
    return count
