"""Geometry by a job, instant prices, engineer review with a promised reply date — never a 500."""

from __future__ import annotations

import os
import re
import secrets
import time
from datetime import UTC, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from test_quotes_support import (
    broken_step,
    cube_stl,
    files_containing,
    flat_stl,
    malformed_ascii_stl,
    pdf_bytes,
    plaintext_roots,
    post_quote,
    step_box,
    waiting_quote,
)

from xometry_site.models import Quote
from xometry_site.services.working_days import add_working_days


def upload(client, db, files, **fields) -> Quote:
    response = post_quote(client, files, **fields)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    db.session.expire_all()
    return db.session.scalar(db.select(Quote).order_by(Quote.id.desc()))


def page_text(client, quote) -> str:
    response = client.get(f"/quotes/{quote.ref}?lang=en")
    assert response.status_code == 200
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_stl_is_measured_priced_at_once_and_shown_with_vat_and_lead_dates(client, db, customer):
    quote = upload(client, db, [("cube.stl", cube_stl(20))], quantity="2")
    assert quote.status == "quoted"
    assert quote.price_source == "instant"
    drawing = quote.drawings[0]
    assert drawing.analysis_status == "analysed"
    assert drawing.geometry["volume_mm3"] == pytest.approx(8000)
    assert drawing.geometry["area_mm2"] == pytest.approx(2400)
    assert drawing.geometry["size"] == [20, 20, 20]
    assert drawing.geometry["triangles"] == 12
    assert drawing.geometry["watertight"] is True
    assert quote.subtotal == drawing.line_total == drawing.unit_price * 2
    assert quote.vat == (quote.subtotal * Decimal("0.13")).quantize(Decimal("0.01"))
    assert quote.total == quote.subtotal + quote.vat
    assert quote.valid_until - quote.quoted_at == timedelta(days=30)
    assert quote.expedite_total > quote.total
    text = page_text(client, quote)
    assert "Instant price" in text
    assert f"¥{quote.total:,.2f}" in text
    assert "VAT 13%" in text
    standard = add_working_days(quote.quoted_at, quote.lead_days_standard)
    assert f"{quote.lead_days_standard} working days" in text
    assert standard.strftime("%B") in text and str(standard.day) in text
    assert "Volume 8.00 cm³" in text
    valid = quote.valid_until.replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"Valid until {valid:%B} {valid.day}, {valid.year}" in text


def test_preview_is_stored_encrypted_and_served_only_as_png_no_store(app, client, db, customer):
    from test_quotes_support import stored_files

    quote = upload(client, db, [("cube.stl", cube_stl(20))])
    drawing = quote.drawings[0]
    assert drawing.preview_blob_id and drawing.preview_wrapped_key
    blob = next(p for p in stored_files(app) if p.name == drawing.preview_blob_id)
    assert not blob.read_bytes().startswith(b"\x89PNG")  # ciphertext at rest
    response = client.get(f"/quotes/{quote.ref}/files/{drawing.id}/preview.png")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert response.headers["Cache-Control"] == "no-store"
    page = client.get(f"/quotes/{quote.ref}").get_data(as_text=True)
    assert f'src="/quotes/{quote.ref}/files/{drawing.id}/preview.png"' in page


def test_stl_priced_and_pdf_in_review_in_the_same_quote(client, db, customer):
    quote = upload(client, db, [("cube.stl", cube_stl(20)), ("plan.pdf", pdf_bytes())])
    assert quote.status == "in_review"
    stl, pdf = sorted(quote.drawings, key=lambda d: d.extension != "stl")
    assert stl.unit_price is not None  # the STL keeps its instant price
    assert pdf.unit_price is None and pdf.review_reason == "format_needs_review"
    assert quote.review_due == add_working_days(quote.created_at, 1)
    text = page_text(client, quote)
    assert "In review" in text
    assert "within 1 working day" in text
    assert "Instant price" in text
    assert "An engineer reads this file format" in text


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("broken.stl", malformed_ascii_stl(), "malformed"),
        ("flat.stl", flat_stl(), "degenerate"),
        ("short.stl", cube_stl(20)[:-50] + b"\0" * 10, None),  # signature fails: refused
    ],
)
def test_bad_meshes_go_to_an_engineer_with_the_reason_not_a_500(
    client, db, customer, name, data, reason
):
    response = post_quote(client, [(name, data)])
    if reason is None:
        assert response.status_code == 400
        return
    assert response.status_code == 303
    quote = db.session.scalar(db.select(Quote))
    assert quote.status == "in_review"
    assert quote.drawings[0].analysis_status == "failed"
    assert quote.drawings[0].review_reason == reason
    assert client.get(f"/quotes/{quote.ref}").status_code == 200


def test_step_that_opencascade_rejects_goes_to_review(client, db, customer):
    quote = upload(client, db, [("broken.step", broken_step())])
    assert quote.status == "in_review"
    assert quote.drawings[0].analysis_status == "failed"
    assert quote.drawings[0].review_reason == "unreadable"
    assert "could not be read" in page_text(client, quote)


@pytest.mark.slow
def test_step_solid_is_measured_in_a_subprocess_and_priced(app, client, db, customer, tmp_path):
    marker = ("PLAINTEXT-MARKER-" + secrets.token_hex(12)).encode()
    data = step_box(tmp_path, 30, 20, 10).replace(b"HEADER;", b"HEADER;\n/* " + marker + b" */", 1)
    started = time.time()
    quote = upload(client, db, [("box.step", data)])
    drawing = quote.drawings[0]
    assert drawing.analysis_status == "analysed", drawing.review_reason
    assert drawing.geometry["volume_mm3"] == pytest.approx(6000, rel=1e-6)
    assert drawing.geometry["faces"] == 6
    assert drawing.has_preview
    assert quote.status == "quoted"
    # the OpenCascade child read the drawing from memory: no plaintext copy anywhere on disk
    assert files_containing(marker, plaintext_roots(app), started) == []


def test_notes_asking_for_tolerances_send_the_quote_to_an_engineer(client, db, customer):
    quote = upload(client, db, [("cube.stl", cube_stl(20))], notes="孔 H7，公差 ±0.01")
    assert quote.status == "in_review"
    assert quote.review_reason == "notes_request_tolerances"


def test_tiny_parts_warn_about_inches(client, db, customer):
    quote = upload(
        client, db, [("tiny.stl", cube_stl(1.0))], process="sla", material="resin_standard"
    )
    assert "maybe_inches" in (quote.warnings or [])
    assert "drawn in inches" in page_text(client, quote)


def test_process_quoted_by_engineers_only(client, db, customer):
    quote = upload(
        client, db, [("cube.stl", cube_stl(20))], process="injection_moulding", material="abs"
    )
    assert quote.status == "in_review"
    assert quote.review_reason == "process_needs_review"


def test_analysis_is_idempotent(client, db, customer):
    from xometry_site.services.quotes.creation import analyse_quote

    quote = upload(client, db, [("cube.stl", cube_stl(20))])
    total, events = quote.total, len(quote.events)
    analyse_quote(quote.id)  # a retried job
    db.session.expire_all()
    assert quote.total == total and len(quote.events) == events


def test_two_workers_on_the_same_analysis_record_it_once_and_orphan_no_preview(
    app, db, customer, monkeypatch
):
    """The job delivered twice: worker A is still measuring when worker B runs the whole job."""
    import threading

    from xometry_site.models import QuoteEvent
    from xometry_site.services.blob_sweep import known_blob_ids
    from xometry_site.services.quotes import creation
    from xometry_site.services.storage import get_storage

    quote_id = waiting_quote(app, db, customer)
    measure = creation._measure
    a_measuring, b_done = threading.Event(), threading.Event()

    def slow_first_measure(drawing, kind, first_stage):
        if not a_measuring.is_set():  # worker A: hold on mid-analysis until B has finished
            a_measuring.set()
            assert b_done.wait(20)
        return measure(drawing, kind, first_stage)

    monkeypatch.setattr(creation, "_measure", slow_first_measure)
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            with app.app_context():
                creation.analyse_quote(quote_id)
                db.session.remove()
        except BaseException as exc:
            failures.append(exc)

    first = threading.Thread(target=worker)
    first.start()
    assert a_measuring.wait(20)
    second = threading.Thread(target=worker)
    second.start()
    second.join(30)
    b_done.set()
    first.join(30)
    assert not failures
    db.session.expire_all()
    quote = db.session.get(Quote, quote_id)
    statuses = db.session.scalars(db.select(QuoteEvent.status).filter_by(quote_id=quote_id)).all()
    assert quote.status == "quoted"
    assert statuses.count("quoted") == 1, statuses
    drawing = quote.drawings[0]
    assert drawing.analysis_status == "analysed" and drawing.preview_blob_id
    stored = {info.blob_id for info in get_storage(app).iter_blobs()}
    assert stored - known_blob_ids() == set(), "a second preview left an orphan blob"


class TestOnRQ:
    """With REDIS_URL set the analysis is queued and an RQ worker does it."""

    REDIS = "redis://127.0.0.1:6379/7"  # production tests use 8-15

    @pytest.fixture
    def app_config(self):
        from conftest import redis_app_config

        yield from redis_app_config(self.REDIS)

    def test_upload_returns_at_once_and_a_worker_prices_the_quote(self, app, client, db, customer):
        from xometry_site.jobs_cli import make_worker

        quote = upload(client, db, [("cube.stl", cube_stl(20))])
        assert quote.status == "analysing"
        assert '<meta http-equiv="refresh"' in client.get(f"/quotes/{quote.ref}").get_data(
            as_text=True
        )
        make_worker(app, ("analysis",)).work(burst=True, with_scheduler=False)
        db.session.expire_all()
        assert quote.status == "quoted"
        assert quote.drawings[0].has_preview

    @pytest.mark.slow
    def test_step_is_measured_by_the_warm_process_the_worker_started(
        self, app, client, db, customer, runner, tmp_path
    ):
        """`flask worker` starts the warm OpenCascade process before RQ forks a work horse per
        job, so the horse's drawing is measured by it (one import for the worker's lifetime)."""
        from xometry_site.services.quotes.step_reader import STEP_MEMORY_LIMIT
        from xometry_site.services.quotes.warm_step import WARM

        WARM.stop()
        data = step_box(tmp_path, 30, 20, 10)
        quote = upload(client, db, [("box.step", data)])
        assert quote.status == "analysing"
        try:
            result = runner.invoke(args=["worker", "--burst", "--queue", "analysis"])
            assert result.exit_code == 0, result.output
            db.session.expire_all()
            assert quote.status == "quoted"
            assert quote.drawings[0].geometry["volume_mm3"] == pytest.approx(6000, rel=1e-6)
            server = WARM.pid
            assert server, "the worker did not start a warm process"
            fd = os.memfd_create("drawing.step")
            os.write(fd, data)
            run = WARM.measure(fd, "step", 30, 100, STEP_MEMORY_LIMIT)
            os.close(fd)
            # the horse's drawing was the first this process served; this is the second
            assert (run.server_pid, run.served) == (server, 2)
        finally:
            WARM.stop()
