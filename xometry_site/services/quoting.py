"""The quote workflow: create → analyse → price (instant) or review (engineer) → accept or cancel.

No request, flash or login here: views pass plain values and map `QuoteError` codes to messages.
Jobs take ids (they may run on an RQ worker with its own session) and are idempotent: a quote is
only analysed while it is "analysing", a drawing only while it is "pending".
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import bindparam
from sqlalchemy.orm import undefer

from ..extensions import db
from ..models import AuditEvent, Drawing, InvoiceProfile, Quote, QuoteEvent, ShippingAddress, User
from ..models.base import utcnow
from ..read_only import writable
from . import vault
from .crypto import CorruptBlob, CryptoError
from .jobs import enqueue, task
from .keyring import KeyRingError, get_keyring
from .storage import BlobStorage, StorageError, get_storage
from .uploads import ReceivedFile
from .working_days import add_working_days

log = logging.getLogger(__name__)

VAT_RATE = Decimal("0.13")
VALID_DAYS = 30
REVIEW_REPLY_WORKING_DAYS = 1
CENT = Decimal("0.01")
ANALYSABLE = {"stl": "stl", "step": "step", "stp": "step", "iges": "iges", "igs": "iges"}
DEFAULT_STEP_TIMEOUT = 60.0


class QuoteError(Exception):
    """A workflow step refused; `code` is a message key the view translates."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class QuoteRequest:
    """What the customer asked for, already validated by the form."""

    process: str
    material: str
    finish: str | None
    quantity: int
    notes: str | None


def money(value: Decimal | float | int | str) -> Decimal:
    """Round half up to the fen, as invoices do."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _storage() -> BlobStorage:
    return get_storage(current_app._get_current_object())  # type: ignore[attr-defined]


def _ring():
    return get_keyring(current_app._get_current_object())  # type: ignore[attr-defined]


def _event(quote: Quote, status: str, reason: str | None = None, actor: User | None = None) -> None:
    quote.events.append(
        QuoteEvent(status=status, reason=reason, actor_id=actor.id if actor else None)
    )


# --- finding quotes --------------------------------------------------------------------------


def quote_for(viewer: User, ref: str) -> Quote | None:
    """The quote with this ref if `viewer` owns it or is staff; None otherwise (→ 404)."""
    query = db.select(Quote).filter_by(ref=ref)
    if not viewer.is_staff:
        query = query.filter_by(user_id=viewer.id)
    quote = db.session.scalar(query)
    if quote is not None:
        expire_if_due(quote)
    return quote


def drawing_of(quote: Quote, drawing_id: int) -> Drawing | None:
    """A readable drawing of this quote (None for another quote's id or a shredded file)."""
    for drawing in quote.drawings:
        if drawing.id == drawing_id and drawing.deleted_at is None:
            return drawing
    return None


class ListedQuote(NamedTuple):
    """A row of the customer's quote list: plain values, so equal rows mean an equal table."""

    id: int
    ref: str
    process: str
    part_count: int
    created_at: datetime
    status: str
    total: Decimal | None
    valid_until: datetime | None


@lru_cache(maxsize=1)
def _listed_quotes():
    """Built once, as the user loader's: SQLAlchemy would otherwise work out the cache key of
    this statement (with its part-count subquery) again on every visit to the list. Columns, not
    Quote objects: the list shows eight of a quote's thirty columns, and nothing on it changes.
    The mapper's plain columns, run on the session's connection: the ORM's execution layer only
    passed the rows through (3 % of the list's instructions)."""
    columns = Quote.__mapper__.c
    return (
        db.select(*(columns[name] for name in ListedQuote._fields))
        .where(columns["user_id"] == bindparam("user_id"))
        .order_by(columns["created_at"].desc(), columns["id"].desc())
    )


def quotes_of(user: User) -> list[ListedQuote]:
    """The customer's quotes, newest first, each price lapsed whose validity has passed."""
    rows = [
        ListedQuote(*row)
        for row in db.session.connection().execute(_listed_quotes(), {"user_id": user.id})
    ]
    moment = utcnow()
    due = [row.id for row in rows if row.status == "quoted" and _lapsed(row.valid_until, moment)]
    if not due:
        return rows
    for quote in db.session.scalars(db.select(Quote).where(Quote.id.in_(due))):
        expire_if_due(quote, moment)
    return quotes_of(user)


def _lapsed(valid_until: datetime | None, moment: datetime) -> bool:
    return valid_until is not None and valid_until < moment


def expire_if_due(quote: Quote, now: datetime | None = None) -> bool:
    """A quoted price lapses after its validity: the quote becomes "expired" (committed)."""
    moment = now or utcnow()
    if quote.status == "quoted" and _lapsed(quote.valid_until, moment):
        writable()
        quote.status = "expired"
        _event(quote, "expired")
        db.session.commit()
        return True
    return False


# --- creating --------------------------------------------------------------------------------


def stored_drawing(stored: vault.StoredBlob, **fields: Any) -> Drawing:
    """A drawing row for an encrypted blob: the blob's size, digest, id and wrapped data key."""
    return Drawing(
        size=stored.size,
        sha256=stored.sha256,
        blob_id=stored.blob_id,
        key_id=stored.kid,
        wrapped_key=stored.wrapped_dek,
        **fields,
    )


def create_quote(user: User, request: QuoteRequest, files: list[ReceivedFile]) -> Quote:
    """Write the quote and its drawings (blobs are already durable), then start the analysis.

    If the commit fails the blobs are destroyed here, so the caller never leaves orphans.
    """
    if not files:
        raise QuoteError("no_files")
    quote = Quote(
        user_id=user.id,
        process=request.process,
        material=request.material,
        finish=request.finish or default_finish(request.process) or None,
        quantity=request.quantity,
        notes=(request.notes or "").strip() or None,
        status="analysing",
    )
    for received in files:
        quote.drawings.append(
            stored_drawing(
                received.stored,
                user_id=user.id,
                filename=received.filename,
                extension=received.extension,
            )
        )
    _event(quote, "analysing")
    db.session.add(quote)
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        for received in files:
            with contextlib.suppress(Exception):
                vault.destroy(_storage(), received.stored.blob_id)
        raise
    log.info("quote.created quote=%s drawings=%d", quote.id, len(files))
    enqueue(analyse_quote, quote.id, queue="analysis")
    return quote


# --- analysing -------------------------------------------------------------------------------


@task
def analyse_quote(quote_id: int) -> None:
    """Measure every pending drawing, then price the quote or send it to an engineer.

    Safe when the job is delivered twice or runs on two workers at once: each drawing is
    claimed before it is measured and the quote before it is priced (see `claim`), so a
    second run measures nothing twice, stores no second preview and records each step once.
    """
    quote = db.session.get(Quote, quote_id)
    if quote is None or quote.status != "analysing":
        return
    for drawing in quote.live_drawings:
        if drawing.analysis_status == "pending" and _claim_drawing(drawing.id):
            db.session.refresh(drawing)
            analyse_drawing(drawing)
    if not _claim_quote(quote_id):
        return
    db.session.expire_all()  # another worker may have measured some drawings meanwhile
    quote = db.session.get(Quote, quote_id)
    if quote is None or any(d.analysis_status in CLAIMABLE for d in quote.live_drawings):
        db.session.rollback()  # another worker is still measuring: it prices when it is done
        return
    price_quote(quote)


CLAIMABLE = ("pending", "measuring")


def claim(statement: Any) -> bool:
    """One conditional UPDATE: true only for the worker whose WHERE still matched.

    PostgreSQL makes a concurrent claimant wait on the row lock, then re-check the WHERE against
    the committed row; SQLite serialises writers on the database lock. Either way one wins."""
    return db.session.execute(statement).rowcount == 1


def _claim_drawing(drawing_id: int) -> bool:
    """pending → measuring, committed at once so others skip it; its age betrays a dead worker."""
    claimed = claim(
        db.update(Drawing)
        .where(Drawing.id == drawing_id, Drawing.analysis_status == "pending")
        .values(
            analysis_status="measuring",
            claimed_at=utcnow(),
            analysis_attempts=Drawing.analysis_attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return claimed


def _claim_quote(quote_id: int) -> bool:
    """Lock the quote for pricing in this transaction (released by price_quote's commit)."""
    claimed = claim(
        db.update(Quote)
        .where(Quote.id == quote_id, Quote.status == "analysing")
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not claimed:
        db.session.rollback()
    return claimed


def _release_claim(drawing_id: int) -> None:
    """measuring → pending after a crash in our own step, so a retried job can measure it."""
    with contextlib.suppress(Exception):
        db.session.execute(
            db.update(Drawing)
            .where(Drawing.id == drawing_id, Drawing.analysis_status == "measuring")
            .values(analysis_status="pending", claimed_at=None)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


def analyse_drawing(drawing: Drawing) -> None:
    """Geometry and an encrypted preview for STL/STEP/IGES; any failure → engineer review.

    The caller holds the drawing's claim ("measuring"), so only this run stores a preview."""
    kind = ANALYSABLE.get(drawing.extension)
    if kind is None:
        drawing.analysis_status = "unmeasurable"
        drawing.review_reason = "format_needs_review"
        db.session.commit()
        return
    try:
        geometry = _measure(drawing, kind)
    except Exception as exc:
        from .geometry import GeometryError

        if isinstance(exc, GeometryError):
            reason = exc.reason_code
            log.info("quote.analysis_refused drawing=%s reason=%s", drawing.id, reason)
        else:
            reason = "analysis_failed"
            log.exception("quote.analysis_error drawing=%s", drawing.id)
        drawing.analysis_status = "failed"
        drawing.review_reason = reason[:40]
        db.session.commit()
        return
    drawing.geometry = geometry.to_dict()
    drawing.analysis_status = "analysed"
    preview_blob = _store_preview(drawing, geometry)
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        if preview_blob:
            with contextlib.suppress(Exception):
                vault.destroy(_storage(), preview_blob)
        _release_claim(drawing.id)
        raise


def _measure(drawing: Drawing, kind: str):
    """Stream the decrypted drawing through the STL parser or the OpenCascade child."""
    from .geometry import analyze_step
    from .preview import analyze_stl_with_preview

    chunks = open_plaintext(drawing)
    with contextlib.closing(chunks):
        if kind == "stl":
            return analyze_stl_with_preview(chunks)
        timeout = float(current_app.config.get("STEP_TIMEOUT", DEFAULT_STEP_TIMEOUT))
        return analyze_step(chunks, kind=kind, timeout=timeout)


def _store_preview(drawing: Drawing, geometry: Any) -> str | None:
    """Render the PNG and store it encrypted like the drawing; a failed render means no image."""
    from .preview import preview_png

    try:
        png = preview_png(geometry)
        if not png:
            return None
        stored = vault.store_encrypted(_storage(), _ring(), [png])
    except Exception:
        log.exception("quote.preview_failed drawing=%s", drawing.id)
        return None
    drawing.preview_blob_id = stored.blob_id
    drawing.preview_key_id = stored.kid
    drawing.preview_wrapped_key = stored.wrapped_dek
    return stored.blob_id


# --- pricing ---------------------------------------------------------------------------------


def price_quote(quote: Quote) -> None:
    """Price each part by the rules; all priced → "quoted" (instant), else "in_review".

    Parts the rules can price keep their instant price even when another part of the same
    quote goes to an engineer, who then only needs to price the rest.
    """
    from . import pricing
    from .geometry import PartGeometry

    rules = pricing.load_rules()
    reasons: list[str] = []
    warnings: set[str] = set()
    priced: list[tuple[Any, Any]] = []
    for drawing in quote.live_drawings:
        geometry = PartGeometry.from_dict(drawing.geometry) if drawing.geometry else None
        try:
            standard, expedited = (
                pricing.price_part(
                    quote.process,
                    quote.material,
                    quote.finish or default_finish(quote.process),
                    geometry,
                    quote.quantity,
                    expedited=fast,
                    notes=quote.notes,
                    file_format=drawing.extension,
                    rules=rules,
                )
                for fast in (False, True)
            )
        except pricing.NeedsReview as exc:
            drawing.review_reason = drawing.review_reason or exc.reason_code[:40]
            reasons.append(drawing.review_reason)
            continue
        drawing.unit_price = money(standard.unit_price)
        drawing.line_total = money(standard.subtotal)
        drawing.price_breakdown = {
            "source": "instant",
            "standard": standard.to_dict(),
            "expedited": expedited.to_dict(),
        }
        warnings.update(standard.warnings)
        priced.append((standard, expedited))
    quote.warnings = sorted(warnings) or None
    if reasons:
        send_to_review(quote, reasons[0])
        return
    _set_price(
        quote,
        "instant",
        lead_standard=max(s.lead_days_standard for s, _ in priced),
        lead_expedited=max(e.lead_days_expedited for _, e in priced),
        expedite_subtotal=sum((e.subtotal for _, e in priced), Decimal(0)),
        vat_rate=Decimal(str(rules["vat_rate"])),
        valid_days=int(rules["validity_days"]),
    )
    db.session.commit()
    log.info("quote.priced quote=%s source=instant", quote.id)


def default_finish(process: str) -> str:
    """The first finish the rules list for a process (the one that costs nothing extra)."""
    from . import pricing

    finishes = pricing.load_rules()["processes"].get(process, {}).get("finishes", {})
    return next(iter(finishes), "")


def _set_price(
    quote: Quote,
    source: str,
    lead_standard: int,
    lead_expedited: int | None,
    expedite_subtotal: Decimal | None,
    vat_rate: Decimal = VAT_RATE,
    valid_days: int = VALID_DAYS,
    now: datetime | None = None,
) -> None:
    """Totals from the parts' line totals, VAT (13 %), valid 30 days; status → quoted."""
    moment = now or utcnow()
    subtotal = money(sum((d.line_total or Decimal(0) for d in quote.live_drawings), Decimal(0)))
    quote.subtotal = subtotal
    quote.vat_rate = vat_rate
    quote.vat = money(subtotal * vat_rate)
    quote.total = quote.subtotal + quote.vat
    quote.currency = "CNY"
    quote.price_source = source
    quote.valid_until = moment + timedelta(days=valid_days)
    quote.lead_days_standard = lead_standard
    quote.lead_days_expedited = lead_expedited
    if lead_expedited and expedite_subtotal is not None:
        expedite = money(expedite_subtotal)
        quote.expedite_total = expedite + money(expedite * vat_rate)
    else:
        quote.expedite_total = None
    quote.quoted_at = moment
    quote.review_due = None
    quote.status = "quoted"
    _event(quote, "quoted", reason=source)


def send_to_review(quote: Quote, reason: str, now: datetime | None = None) -> None:
    """Hand the quote to an engineer with the promised reply date (China working days)."""
    quote.status = "in_review"
    quote.review_reason = reason[:40]
    quote.price_source = "engineer"
    quote.review_due = review_due_date(now)
    _event(quote, "in_review", reason=reason[:40])
    db.session.commit()
    log.info("quote.review quote=%s reason=%s", quote.id, reason)


def review_due_date(now: datetime | None = None) -> date:
    return add_working_days(now or utcnow(), REVIEW_REPLY_WORKING_DAYS)


def lead_dates(quote: Quote, start: datetime | None = None) -> dict[str, date | None]:
    """Ship-by dates of the standard and expedited lead times, by China's working days."""
    moment = start or quote.ordered_at or utcnow()
    return {
        "standard": add_working_days(moment, quote.lead_days_standard)
        if quote.lead_days_standard
        else None,
        "expedited": add_working_days(moment, quote.lead_days_expedited)
        if quote.lead_days_expedited
        else None,
    }


@dataclass(frozen=True)
class EngineerPrice:
    """What a staff member decides for a reviewed quote."""

    unit_prices: dict[int, Decimal]  # drawing id → price per piece (CNY, before VAT)
    lead_days_standard: int
    lead_days_expedited: int | None
    expedite_percent: Decimal | None  # surcharge on the total for the expedited lead time
    note: str | None


def set_engineer_price(quote: Quote, staff: User, price: EngineerPrice) -> None:
    """Price a reviewed quote part by part, then mail the customer in their language."""
    if not staff.is_staff:
        raise QuoteError("not_staff")
    if quote.status not in ("in_review", "analysing", "quoted"):
        raise QuoteError("not_reviewable")
    drawings = quote.live_drawings
    if not drawings or any(d.id not in price.unit_prices for d in drawings):
        raise QuoteError("missing_part_price")
    for drawing in drawings:
        unit = money(price.unit_prices[drawing.id])
        if unit <= 0:
            raise QuoteError("missing_part_price")
        drawing.unit_price = unit
        drawing.line_total = money(unit * quote.quantity)
        drawing.price_breakdown = {"source": "engineer"}
    expedite_subtotal = None
    if price.lead_days_expedited and price.expedite_percent is not None:
        subtotal = sum((d.line_total or Decimal(0) for d in drawings), Decimal(0))
        expedite_subtotal = subtotal * (Decimal(1) + price.expedite_percent / Decimal(100))
    quote.engineer_note = (price.note or "").strip() or None
    quote.reviewed_by_id = staff.id
    _set_price(
        quote, "engineer", price.lead_days_standard, price.lead_days_expedited, expedite_subtotal
    )
    quote.events[-1].actor_id = staff.id
    notify_customer(quote)
    db.session.commit()  # the price and its mail together
    log.info("quote.priced quote=%s source=engineer", quote.id)


def notify_customer(quote: Quote) -> None:
    """Mail "your quote is ready" to the owner, in their preferred language."""
    from .mail import external_url, send_mail

    owner = db.session.get(User, quote.user_id)
    if owner is None or not owner.email or not owner.is_active:
        return
    send_mail(
        owner.email,
        "quote_ready",
        owner.preferred_language,
        user_name=owner.name,
        ref=quote.ref,
        total=quote.total,
        valid_until=quote.valid_until,
        link=external_url("quotes.detail", ref=quote.ref),
    )


# --- customer decisions ----------------------------------------------------------------------


def cancel_quote(quote: Quote, actor: User) -> None:
    """The customer withdraws an open quote (nothing is made)."""
    if not quote.is_open:
        raise QuoteError("not_cancellable")
    quote.status = "cancelled"
    _event(quote, "cancelled", actor=actor)
    db.session.commit()


def accept_quote(
    quote: Quote,
    user: User,
    address_id: int,
    invoice_id: int,
    lead_choice: str = "standard",
    now: datetime | None = None,
) -> None:
    """Order at the quoted price, shipped to one of the user's addresses, invoiced to their
    profile; staff are told by mail."""
    moment = now or utcnow()
    if expire_if_due(quote, moment) or quote.status != "quoted":
        raise QuoteError("not_acceptable")
    if quote.user_id != user.id:
        raise QuoteError("not_acceptable")
    address = db.session.scalar(
        db.select(ShippingAddress).filter_by(id=address_id, user_id=user.id)
    )
    invoice = db.session.scalar(db.select(InvoiceProfile).filter_by(id=invoice_id, user_id=user.id))
    if address is None:
        raise QuoteError("no_address")
    if invoice is None:
        raise QuoteError("no_invoice_profile")
    if lead_choice == "expedited" and not quote.lead_days_expedited:
        raise QuoteError("no_expedited")
    quote.shipping_address_id = address.id
    quote.invoice_profile_id = invoice.id
    quote.lead_choice = "expedited" if lead_choice == "expedited" else "standard"
    quote.status = "ordered"
    quote.ordered_at = moment
    _event(quote, "ordered", actor=user)
    notify_staff(quote)
    db.session.commit()  # the order and its announcement together
    log.info("quote.ordered quote=%s", quote.id)


def staff_recipients() -> list[str]:
    """STAFF_NOTIFY_EMAIL (comma-separated) if set, else every active staff account."""
    configured = current_app.config.get("STAFF_NOTIFY_EMAIL")
    if configured:
        return [a.strip() for a in str(configured).split(",") if a.strip()]
    staff = db.session.scalars(db.select(User).filter_by(is_staff=True))
    return [u.email for u in staff if u.email and u.is_active]


def notify_staff(quote: Quote) -> None:
    """Tell the operator an order came in (staff read mail in Chinese by default)."""
    from .mail import external_url, send_mail

    for address in staff_recipients():
        send_mail(
            address,
            "quote_ordered",
            "zh_CN",
            ref=quote.ref,
            total=quote.expedite_total if quote.lead_choice == "expedited" else quote.total,
            lead_choice=quote.lead_choice,
            link=external_url("admin.quote_detail", ref=quote.ref),
        )


# --- reading files back ----------------------------------------------------------------------


def open_plaintext(drawing: Drawing) -> Iterator[bytes]:
    """Decrypted chunks of a drawing (first segment already authenticated)."""
    if not drawing.is_readable or not drawing.blob_id or not drawing.key_id:
        raise CorruptBlob("the drawing's key was destroyed")
    return vault.open_decrypted(
        _storage(), _ring(), drawing.blob_id, drawing.key_id, drawing.wrapped_key or b""
    )


def verified_download(drawing: Drawing) -> Iterator[bytes]:
    """Authenticate the whole file (and its SHA-256) first, then stream it.

    Two passes cost one extra decryption, and buy a clean refusal before the response starts
    when any byte was changed, instead of a transfer cut off in the middle.
    """
    digest = hashlib.sha256()
    chunks = open_plaintext(drawing)
    with contextlib.closing(chunks):
        for chunk in chunks:
            digest.update(chunk)
    if digest.hexdigest() != drawing.sha256:
        raise CorruptBlob("content does not match its recorded SHA-256")
    return open_plaintext(drawing)


def preview_bytes(drawing: Drawing) -> bytes:
    """The decrypted PNG preview (small: read whole)."""
    if not drawing.has_preview or not drawing.preview_blob_id or not drawing.preview_key_id:
        raise CorruptBlob("no preview")
    chunks = vault.open_decrypted(
        _storage(),
        _ring(),
        drawing.preview_blob_id,
        drawing.preview_key_id,
        drawing.preview_wrapped_key or b"",
    )
    with contextlib.closing(chunks):
        return b"".join(chunks)


READ_ERRORS = (CryptoError, StorageError, KeyRingError, FileNotFoundError)


def record_staff_download(staff: User, drawing: Drawing) -> None:
    """Every staff download is on the owner's record (shown on the quote and under My data)."""
    db.session.add(
        AuditEvent(
            actor_id=staff.id,
            subject_id=drawing.user_id,
            action="drawing.download",
            target=f"drawing:{drawing.id}",
        )
    )
    db.session.commit()
    log.info("admin.drawing_download staff=%s drawing=%s", staff.id, drawing.id)


def staff_downloads(drawings: Iterable[Drawing]) -> dict[int, list[AuditEvent]]:
    """Staff downloads per drawing id, newest first, for the owner's quote page."""
    targets = {f"drawing:{d.id}": d.id for d in drawings}
    if not targets:
        return {}
    events = db.session.scalars(
        db.select(AuditEvent)
        .filter(AuditEvent.action == "drawing.download", AuditEvent.target.in_(list(targets)))
        .order_by(AuditEvent.created_at.desc())
    )
    found: dict[int, list[AuditEvent]] = {}
    for event in events:
        found.setdefault(targets[event.target or ""], []).append(event)
    return found


def shred_drawing(drawing: Drawing) -> None:
    """Delete a drawing for good: forget its keys, commit, then remove the ciphertext."""
    blobs = drawing.shred()
    db.session.commit()
    for blob_id in blobs:
        with contextlib.suppress(Exception):
            vault.destroy(_storage(), blob_id)


def known_blob_ids() -> set[str]:
    """Every blob id any table refers to (columns named `blob_id` or `*_blob_id`), for the
    sweeper: blobs of exports and other features are never taken for orphans."""
    ids: set[str] = set()
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for column in table.columns:
                if column.name == "blob_id" or column.name.endswith("_blob_id"):
                    rows = conn.execute(db.select(column).where(column.is_not(None)))
                    ids.update(value for (value,) in rows)
    return ids


def order_details_of(user: User) -> tuple[list[ShippingAddress], InvoiceProfile | None]:
    """The user's shipping addresses (default first) and invoice profile, for ordering."""
    addresses = list(
        db.session.scalars(
            db.select(ShippingAddress)
            .filter_by(user_id=user.id)
            .order_by(ShippingAddress.is_default.desc(), ShippingAddress.id)
        )
    )
    invoice = db.session.scalar(db.select(InvoiceProfile).filter_by(user_id=user.id))
    return addresses, invoice


# --- catalogue names and choices -------------------------------------------------------------


def _rules() -> dict[str, Any]:
    """The operator's pricing rules: processes, materials and finishes with their names."""
    from . import pricing

    return pricing.load_rules()


def _name(entry: dict[str, Any], key: str, lang: str) -> str:
    from . import pricing

    names = entry.get("name") or {}
    return pricing.localized(names, lang) if names else key


def _lang() -> str:
    from ..i18n import current_language

    try:
        return current_language()
    except Exception:
        return "zh_CN"


def catalogue_name(kind: str, key: str | None, process: str | None = None) -> str:
    """Display name of a process, material or finish in the current language."""
    if not key:
        return ""
    processes = _rules()["processes"]
    lang = _lang()
    if kind == "process":
        entry = processes.get(key)
        return _name(entry, key, lang) if entry else key
    plural = {"material": "materials", "finish": "finishes"}.get(kind, kind)
    entry = (processes.get(process or "") or {}).get(plural, {}).get(key)
    return _name(entry, key, lang) if entry else key


def form_choices() -> dict[str, list[Any]]:
    """Choices for the upload form: processes, then materials and finishes grouped by process."""
    from wtforms import SelectChoice  # the (value, label) tuples are deprecated since WTForms 3.3

    lang = _lang()
    processes = _rules()["processes"]
    choices: dict[str, list[Any]] = {"process": [], "material": [], "finish": []}
    for key, process in processes.items():
        label = _name(process, key, lang)
        choices["process"].append(SelectChoice(key, label))
        choices["material"] += [
            SelectChoice(m, _name(entry, m, lang), optgroup=label)
            for m, entry in process.get("materials", {}).items()
        ]
        choices["finish"] += [
            SelectChoice(f, _name(entry, f, lang), optgroup=label)
            for f, entry in process.get("finishes", {}).items()
        ]
    return choices


def material_combinations() -> dict[str, dict[str, Any]]:
    """process → its materials, and each finish → the materials it allows (None: any)."""
    result: dict[str, dict[str, Any]] = {}
    for key, process in _rules()["processes"].items():
        result[key] = {
            "materials": list(process.get("materials", {})),
            "finishes": {f: e.get("materials") for f, e in process.get("finishes", {}).items()},
        }
    return result


def combination_error(process: str, material: str, finish: str | None) -> str | None:
    """ "material"/"finish" when the choice does not belong to the process, else None."""
    allowed = material_combinations().get(process)
    if allowed is None:
        return "process"
    if material not in allowed["materials"]:
        return "material"
    if finish:
        if finish not in allowed["finishes"]:
            return "finish"
        only = allowed["finishes"][finish]
        if only is not None and material not in only:
            return "finish"
    return None


# --- staff queue -----------------------------------------------------------------------------


def review_queue_counts() -> dict[str, int]:
    """How many quotes are in each status (the dashboard and the queue tabs)."""
    rows = db.session.execute(
        db.select(Quote.status, db.func.count(Quote.id)).group_by(Quote.status)
    )
    return {status: count for status, count in rows}


def quotes_with_status(status: str) -> list[Quote]:
    """The queue: oldest first for quotes waiting on us, newest first for the rest."""
    order = (
        Quote.created_at.asc() if status in ("in_review", "analysing") else Quote.created_at.desc()
    )
    return list(
        db.session.scalars(
            db.select(Quote)
            .filter_by(status=status)
            .options(undefer(Quote.part_count))
            .order_by(order)
        )
    )


def owner_of(quote: Quote) -> User | None:
    return db.session.get(User, quote.user_id)


def engineer_defaults(quote: Quote) -> dict[str, Any]:
    """Pre-fill for the engineer's form: the quote's lead times or the rules' for its process."""
    from . import pricing

    rules = pricing.load_rules()
    lead = rules["processes"].get(quote.process, {}).get("lead_days", {})
    return {
        "lead_days_standard": quote.lead_days_standard or lead.get("standard"),
        "lead_days_expedited": quote.lead_days_expedited or lead.get("expedited"),
        "expedite_percent": Decimal(str(rules.get("expedite_surcharge", "0"))) * 100,
        "note": quote.engineer_note,
    }
