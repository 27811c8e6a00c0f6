"""Creating a quote from stored drawings, and analysing it: claim, measure, price, then check and preview.

The analysis comes in two stages so the customer sees a price as soon as it is known: the exact
measures (STEP/IGES: OpenCascade's B-rep volume, area and box; STL: the parsed mesh) price the
quote at once while it stays "analysing", which cannot be ordered; the mesh checks (DFM), the
preview and the 3D viewer's mesh follow, and only then is the quote "quoted" or sent to review.

No request, flash or login here: views pass plain values and map `QuoteError` codes to messages.
Jobs take ids (they may run on an RQ worker with its own session) and are idempotent: a quote is
only analysed while it is "analysing", a drawing only while it is "pending".
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app

from ...extensions import db
from ...models import Drawing, Quote, User
from ...models.base import utcnow
from .. import vault
from ..jobs import enqueue, task, yield_cpu_for_the_rest
from .catalogue import default_finish
from .drawing_files import blob_storage, key_ring, open_plaintext, stored_drawing
from .quote_pricing import price_quote
from .records import QuoteError, record_event
from .uploads import ReceivedFile

log = logging.getLogger(__name__)

ANALYSABLE = {"stl": "stl", "step": "step", "stp": "step", "iges": "iges", "igs": "iges"}
DEFAULT_STEP_TIMEOUT = 60.0
LATER_NICENESS = 5  # checks and previews after the price: a third of a normal process's share


@dataclass(frozen=True)
class QuoteRequest:
    """What the customer asked for, already validated by the form; every option may be left to
    the rules' defaults and changed per part once the files are in."""

    process: str | None = None
    material: str | None = None
    finish: str | None = None
    quantity: int | None = None
    notes: str | None = None

    def with_defaults(self) -> QuoteRequest:
        """Options the customer left out, from the operator's rules (`defaults`)."""
        from .pricing import load_rules

        defaults = load_rules().get("defaults") or {}
        process = self.process or defaults.get("process") or "cnc_machining"
        material = self.material
        if not material:
            same = process == defaults.get("process")
            material = defaults.get("material") if same else first_material(process)
        return QuoteRequest(
            process=process,
            material=material,
            finish=self.finish or default_finish(process) or None,
            quantity=self.quantity or int(defaults.get("quantity", 1)),
            notes=self.notes,
        )


def create_quote(user: User, request: QuoteRequest, files: list[ReceivedFile]) -> Quote:
    """Write the quote and its drawings (blobs are already durable), then start the analysis.

    If the commit fails it is rolled back and the error raised: the blobs are still the upload's,
    which destroys them (see `uploads.UploadReceiver`), so no orphan is left.
    """
    if not files:
        raise QuoteError("no_files")
    request = request.with_defaults()
    assert request.process and request.material and request.quantity  # noqa: S101 - defaults
    quote = Quote(
        user_id=user.id,
        process=request.process,
        material=request.material,
        finish=request.finish,
        quantity=request.quantity,
        notes=(request.notes or "").strip() or None,
        status="analysing",
    )
    for received in files:
        drawing = stored_drawing(
            received.stored,
            user_id=user.id,
            filename=received.filename,
            extension=received.extension,
        )
        drawing.process, drawing.material = request.process, request.material
        drawing.finish, drawing.quantity = request.finish, request.quantity
        drawing.tolerance, drawing.threads, drawing.inspection = "iso2768m", 0, "standard"
        quote.drawings.append(drawing)
    record_event(quote, "analysing")
    db.session.add(quote)
    try:
        db.session.flush()
        attach_drawings_by_name(quote)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    log.info("quote.created quote=%s drawings=%d", quote.id, len(files))
    enqueue(analyse_quote, quote.id, queue="analysis")
    return quote


def attach_drawings_by_name(quote: Quote) -> None:
    """A 2D drawing named like a 3D part ("bracket.pdf" beside "bracket.step") belongs to it."""
    solids = {}
    for drawing in quote.live_drawings:
        if not drawing.is_flat:
            solids.setdefault(_stem(drawing.filename), drawing)
    for drawing in quote.live_drawings:
        part = solids.get(_stem(drawing.filename)) if drawing.is_flat else None
        if part is not None:
            drawing.part_of_id = part.id
            drawing.process = drawing.material = drawing.finish = None
            drawing.quantity = drawing.threads = None
            drawing.tolerance = drawing.inspection = None


def _stem(filename: str) -> str:
    return filename.rsplit(".", 1)[0].strip().casefold()


def first_material(process: str) -> str | None:
    from .pricing import load_rules

    materials = load_rules()["processes"].get(process, {}).get("materials", {})
    return next(iter(materials), None)


@task
def analyse_quote(quote_id: int) -> None:
    """Measure every pending drawing, then price the quote or send it to an engineer.

    The price is shown early (`_price_early`) once every part has its exact measures; the
    quote becomes orderable only here, after the mesh checks. Safe when the job is delivered
    twice or runs on two workers at once: each drawing is claimed before it is measured and the
    quote before it is priced (see `claim`), so a second run measures nothing twice, stores no
    second preview and records each step once.
    """
    quote = db.session.get(Quote, quote_id)
    if quote is None or quote.status != "analysing":
        return
    for drawing in quote.live_drawings:
        if drawing.analysis_status == "pending" and _claim_drawing(drawing.id):
            db.session.refresh(drawing)
            analyse_drawing(drawing, measured=lambda: _price_early(quote_id))
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


def analyse_drawing(drawing: Drawing, measured: Callable[[], None] | None = None) -> None:
    """Geometry, an encrypted preview and viewer mesh for STL/STEP/IGES; any failure → engineer
    review.

    The caller holds the drawing's claim ("measuring"), so only this run stores a preview. Once
    the exact measures are known they are committed (still "measuring": the mesh checks are to
    come) and `measured` is called, while OpenCascade goes on to tessellate."""
    kind = ANALYSABLE.get(drawing.extension)
    if kind is None:
        drawing.analysis_status = "unmeasurable"
        drawing.review_reason = "format_needs_review"
        db.session.commit()
        return

    def first_stage(geometry: Any) -> None:
        drawing.geometry = geometry.to_dict()  # no "dfm" record yet: the mesh is to come
        db.session.commit()
        if measured is not None:
            measured()
        yield_cpu_for_the_rest(LATER_NICENESS)  # the next customer's price comes first

    try:
        geometry = _measure(drawing, kind, first_stage)
    except Exception as exc:
        from .geometry import GeometryError

        db.session.rollback()  # a fault in the first stage's commit or pricing, if it was that
        drawing.geometry = None
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
    from .dfm import measure_geometry

    drawing.geometry = {**geometry.to_dict(), "dfm": measure_geometry(geometry)}
    drawing.analysis_status = "analysed"
    derived = [b for b in (_store_preview(drawing, geometry), _store_mesh(drawing, geometry)) if b]
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        for blob_id in derived:
            with contextlib.suppress(Exception):
                vault.destroy(blob_storage(), blob_id)
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


def _measure(drawing: Drawing, kind: str, first_stage: Callable[[Any], None]):
    """Stream the decrypted drawing through the STL parser or an OpenCascade child; the exact
    measures go to `first_stage` before the mesh is made (STEP/IGES) or checked (STL)."""
    from .preview import analyze_stl_with_preview
    from .step_reader import analyze_step

    chunks = open_plaintext(drawing)
    with contextlib.closing(chunks):
        if kind == "stl":
            geometry = analyze_stl_with_preview(chunks)
            first_stage(geometry)
            return geometry
        timeout = float(current_app.config.get("STEP_TIMEOUT", DEFAULT_STEP_TIMEOUT))
        warm = bool(current_app.config.get("STEP_WARM_WORKER", True))
        return analyze_step(chunks, kind=kind, timeout=timeout, warm=warm, on_brep=first_stage)


def _price_early(quote_id: int) -> None:
    """Put the price on the page before the mesh checks, when every part has its exact measures
    and each would be priced at once; the quote stays "analysing", so it cannot be ordered yet
    (a part the checks send to an engineer then takes the quote to review)."""
    if not _claim_quote(quote_id):
        return
    quote = db.session.get(Quote, quote_id)
    if quote is None or any(
        p.geometry is None and p.analysis_status in CLAIMABLE for p in quote.parts
    ):
        db.session.rollback()
        return
    price_quote(quote, provisional=True)


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


def _store_mesh(drawing: Drawing, geometry: Any) -> str | None:
    """The 3D viewer's mesh, encrypted like the drawing; none when the reader made no whole-part
    mesh (a STEP tessellation larger than the preview keeps: its sample would show holes)."""
    from .viewer_mesh import encode

    triangles = geometry.viewer_triangles
    if triangles is None or len(triangles) == 0:
        return None
    try:
        mesh = encode(triangles)
        if not mesh:
            return None
        stored = vault.store_encrypted(blob_storage(), key_ring(), [mesh])
    except Exception:
        log.exception("quote.mesh_failed drawing=%s", drawing.id)
        return None
    drawing.mesh_blob_id = stored.blob_id
    drawing.mesh_key_id = stored.kid
    drawing.mesh_wrapped_key = stored.wrapped_dek
    return stored.blob_id
