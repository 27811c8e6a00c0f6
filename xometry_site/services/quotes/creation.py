"""Creating a quote from stored drawings, and analysing it: claim, measure, preview, then price or review.

No request, flash or login here: views pass plain values and map `QuoteError` codes to messages.
Jobs take ids (they may run on an RQ worker with its own session) and are idempotent: a quote is
only analysed while it is "analysing", a drawing only while it is "pending".
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from flask import current_app

from ...extensions import db
from ...models import Drawing, Quote, User
from ...models.base import utcnow
from .. import vault
from ..jobs import enqueue, task
from .catalogue import default_finish
from .drawing_files import blob_storage, key_ring, open_plaintext, stored_drawing
from .quote_pricing import price_quote
from .records import QuoteError, record_event
from .uploads import ReceivedFile

log = logging.getLogger(__name__)

ANALYSABLE = {"stl": "stl", "step": "step", "stp": "step", "iges": "iges", "igs": "iges"}
DEFAULT_STEP_TIMEOUT = 60.0


@dataclass(frozen=True)
class QuoteRequest:
    """What the customer asked for, already validated by the form."""

    process: str
    material: str
    finish: str | None
    quantity: int
    notes: str | None


def create_quote(user: User, request: QuoteRequest, files: list[ReceivedFile]) -> Quote:
    """Write the quote and its drawings (blobs are already durable), then start the analysis.

    If the commit fails it is rolled back and the error raised: the blobs are still the upload's,
    which destroys them (see `uploads.UploadReceiver`), so no orphan is left.
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
    record_event(quote, "analysing")
    db.session.add(quote)
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    log.info("quote.created quote=%s drawings=%d", quote.id, len(files))
    enqueue(analyse_quote, quote.id, queue="analysis")
    return quote


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
                vault.destroy(blob_storage(), preview_blob)
        _release_claim(drawing.id)
        raise


def prepare_analysis(warm: bool = True) -> None:
    """Import what measuring, previews and pricing use, and start the warm OpenCascade process:
    a job worker does this once, before it forks a work horse per job that then inherits both."""
    from PIL import Image

    from . import preview, step_reader, warm_step  # noqa: F401 - imported for the horses

    Image.preinit()  # the PNG encoder, loaded on first use otherwise
    if warm:
        warm_step.start()


def _measure(drawing: Drawing, kind: str):
    """Stream the decrypted drawing through the STL parser or an OpenCascade child."""
    from .preview import analyze_stl_with_preview
    from .step_reader import analyze_step

    chunks = open_plaintext(drawing)
    with contextlib.closing(chunks):
        if kind == "stl":
            return analyze_stl_with_preview(chunks)
        timeout = float(current_app.config.get("STEP_TIMEOUT", DEFAULT_STEP_TIMEOUT))
        warm = bool(current_app.config.get("STEP_WARM_WORKER", True))
        return analyze_step(chunks, kind=kind, timeout=timeout, warm=warm)


def _store_preview(drawing: Drawing, geometry: Any) -> str | None:
    """Render the PNG and store it encrypted like the drawing; a failed render means no image."""
    from .preview import preview_png

    try:
        png = preview_png(geometry)
        if not png:
            return None
        stored = vault.store_encrypted(blob_storage(), key_ring(), [png])
    except Exception:
        log.exception("quote.preview_failed drawing=%s", drawing.id)
        return None
    drawing.preview_blob_id = stored.blob_id
    drawing.preview_key_id = stored.kid
    drawing.preview_wrapped_key = stored.wrapped_dek
    return stored.blob_id
