"""The price shows as soon as the part is measured; the mesh checks, preview and 3D mesh follow, and
only after them can the quote be ordered — or an engineer gets it, when the checks find a problem."""

from __future__ import annotations

import re
import threading

import pytest
from test_quotes_dfm import plate_stl
from test_quotes_support import cube_stl, pdf_bytes, waiting_quote

from xometry_site.models import Drawing, Quote
from xometry_site.services.quotes import acceptance, creation
from xometry_site.services.quotes.records import QuoteError


class HeldJob:
    """The quote's analysis job in a thread of its own, held right after the early price."""

    def __init__(self, app, db, quote_id: int, monkeypatch) -> None:
        self.priced, self.release = threading.Event(), threading.Event()
        self.failures: list[BaseException] = []
        price_early = creation._price_early

        def held(qid: int) -> None:
            price_early(qid)
            self.priced.set()
            assert self.release.wait(30)

        monkeypatch.setattr(creation, "_price_early", held)

        def work() -> None:
            try:
                with app.app_context():
                    creation.analyse_quote(quote_id)
                    db.session.remove()
            except BaseException as exc:
                self.failures.append(exc)
                self.priced.set()

        self.thread = threading.Thread(target=work)
        self.thread.start()
        assert self.priced.wait(30), "the job never reached its early price"

    def finish(self) -> None:
        self.release.set()
        self.thread.join(60)
        assert not self.thread.is_alive() and not self.failures, self.failures


@pytest.fixture
def held_jobs():
    jobs: list[HeldJob] = []
    yield jobs
    for job in jobs:  # a failed assertion must not leave the thread waiting
        job.release.set()
        job.thread.join(60)


def page(client, quote_id: int, db) -> str:
    db.session.expire_all()
    quote = db.session.get(Quote, quote_id)
    response = client.get(f"/quotes/{quote.ref}?lang=en")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_price_is_on_the_page_while_the_mesh_is_still_checked(
    app, client, db, customer, monkeypatch, held_jobs
):
    quote_id = waiting_quote(app, db, customer)
    held_jobs.append(job := HeldJob(app, db, quote_id, monkeypatch))
    quote = db.session.get(Quote, quote_id)
    html = page(client, quote_id, db)
    total = re.search(r'id="quote-total">([^<]+)<', html).group(1)
    assert "¥" in total
    assert "Checking manufacturability" in text_of(html)
    assert 'id="accept-link"' not in html
    assert re.search(r'<button[^>]*id="accept-pending"[^>]*disabled', html)
    drawing = quote.drawings[0]
    assert drawing.analysis_status == "measuring" and drawing.geometry["volume_mm3"] == 8000
    assert not drawing.has_preview and not drawing.has_mesh and "dfm" not in drawing.geometry
    assert "part-viewer" not in html
    state = client.get(f"/quotes/{quote.ref}/status").get_json()
    assert state == {"status": "analysing", "analysing": True, "priced": True}
    refused = client.get(f"/quotes/{quote.ref}/accept")
    assert refused.status_code == 302 and refused.headers["Location"].endswith(f"/{quote.ref}")
    with pytest.raises(QuoteError) as caught:  # the one place that makes orders says no too
        acceptance.accept_quote(quote, customer, address_id=0, invoice_id=0)
    assert caught.value.code == "not_acceptable"
    db.session.rollback()

    job.finish()
    html = page(client, quote_id, db)
    quote = db.session.get(Quote, quote_id)
    assert quote.status == "quoted"
    assert re.search(r'id="quote-total">([^<]+)<', html).group(1) == total
    assert 'id="accept-link"' in html and 'id="accept-pending"' not in html
    assert "Checking manufacturability" not in text_of(html)
    drawing = quote.drawings[0]
    assert drawing.analysis_status == "analysed" and drawing.has_preview and drawing.has_mesh
    assert drawing.geometry["dfm"]["walls"]["measured"] is True
    assert client.get(f"/quotes/{quote.ref}/accept").status_code == 200


def test_walls_too_thin_found_after_the_early_price_send_the_quote_to_an_engineer(
    app, client, db, customer, monkeypatch, held_jobs
):
    quote_id = waiting_quote(app, db, customer, plate_stl(40, 40, 0.3), "plate.stl")
    held_jobs.append(job := HeldJob(app, db, quote_id, monkeypatch))
    quote = db.session.get(Quote, quote_id)
    html = page(client, quote_id, db)
    assert 'id="quote-total"' in html and 'id="accept-link"' not in html
    assert client.get(f"/quotes/{quote.ref}/accept").status_code == 302

    job.finish()
    html = page(client, quote_id, db)
    quote = db.session.get(Quote, quote_id)
    assert quote.status == "in_review"
    part = quote.drawings[0]
    assert part.review_reason == "dfm_review" and part.unit_price is None
    assert 'id="accept-link"' not in html and 'id="accept-pending"' not in html
    assert 'data-code="thin_walls"' in html
    assert client.get(f"/quotes/{quote.ref}/accept").status_code == 302


def test_no_early_price_when_a_part_goes_to_an_engineer_anyway(
    app, client, db, customer, monkeypatch, held_jobs
):
    from xometry_site.services.keyring import get_keyring
    from xometry_site.services.quotes.drawing_files import stored_drawing
    from xometry_site.services.storage import get_storage
    from xometry_site.services.vault import store_encrypted

    quote_id = waiting_quote(app, db, customer)
    stored = store_encrypted(get_storage(app), get_keyring(app), [pdf_bytes()])
    db.session.add(
        stored_drawing(
            stored, quote_id=quote_id, user_id=customer.id, filename="other.pdf", extension="pdf"
        )
    )
    db.session.commit()
    held_jobs.append(job := HeldJob(app, db, quote_id, monkeypatch))
    html = page(client, quote_id, db)
    quote = db.session.get(Quote, quote_id)
    assert quote.total is None and 'id="quote-total"' not in html
    assert client.get(f"/quotes/{quote.ref}/status").get_json()["priced"] is False
    job.finish()
    db.session.expire_all()
    quote = db.session.get(Quote, quote_id)
    assert quote.status == "in_review"
    cube = next(d for d in quote.drawings if d.extension == "stl")
    assert cube.unit_price is not None  # the measured part keeps its instant price


def test_a_drawing_that_fails_after_its_early_price_goes_to_an_engineer(
    app, client, db, customer, monkeypatch, held_jobs
):
    """Measured, priced, then the second stage fails: no price to order, the reason shown."""
    from xometry_site.services.quotes.geometry import GeometryError

    measure = creation._measure

    def fails_after_first_stage(drawing, kind, first_stage):
        measure(drawing, kind, first_stage)
        raise GeometryError("timeout", "tessellation")

    monkeypatch.setattr(creation, "_measure", fails_after_first_stage)
    quote_id = waiting_quote(app, db, customer)
    held_jobs.append(job := HeldJob(app, db, quote_id, monkeypatch))
    job.finish()
    db.session.expire_all()
    quote = db.session.get(Quote, quote_id)
    drawing = db.session.get(Drawing, quote.drawings[0].id)
    assert quote.status == "in_review" and quote.review_reason == "timeout"
    assert drawing.analysis_status == "failed" and drawing.geometry is None
    assert 'id="accept-link"' not in page(client, quote_id, db)


def test_the_cube_uploaded_is_quoted_with_its_checks_done(client, db, customer):
    """Jobs inline (no Redis): the upload's answer already has both stages behind it."""
    from test_quotes_support import post_quote

    assert post_quote(client, [("cube.stl", cube_stl(20))]).status_code == 303
    quote = db.session.scalar(db.select(Quote).order_by(Quote.id.desc()))
    assert quote.status == "quoted" and quote.drawings[0].geometry["dfm"]["walls"]["measured"]


def test_only_a_work_horse_yields_the_cpu_once_the_price_is_out():
    """The checks after the price run at a lower priority in RQ's horse (gone after the job), never
    in a web worker that ran the job inline."""
    import os

    from xometry_site.services import jobs

    before = os.nice(0)
    jobs.yield_cpu_for_the_rest(creation.LATER_NICENESS)
    assert os.nice(0) == before
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        jobs.mark_work_horse()
        jobs.yield_cpu_for_the_rest(creation.LATER_NICENESS)
        os._exit(0 if os.nice(0) == min(19, before + creation.LATER_NICENESS) else 1)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
