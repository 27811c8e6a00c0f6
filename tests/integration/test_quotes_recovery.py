"""A worker killed mid-analysis does not leave the customer waiting for ever.

The "worker" here is a forked child process that claims the drawing and is SIGKILLed while
measuring it — what an out-of-memory kill or a lost host does to an RQ work horse.
"""

from __future__ import annotations

import os
import re
import signal
import threading
from datetime import timedelta

import pytest
from conftest import sign_in
from test_quotes_support import waiting_quote

from xometry_site.models import Drawing, Quote, QuoteEvent
from xometry_site.models.base import utcnow
from xometry_site.services.quotes import acceptance, analysis_recovery, creation
from xometry_site.services.quotes.analysis_recovery import recover_stale_claims

KILLED = -signal.SIGKILL
LATER = timedelta(minutes=16)  # past the default 15-minute claim timeout
WITHIN = timedelta(minutes=14)  # not yet


def in_doomed_worker(func, *args, after_first_stage: bool = False) -> int:
    """Run a job in a forked child that SIGKILLs itself on measuring (or once the part is
    measured and priced, before its mesh checks): KILLED, or its exit code."""
    from xometry_site.extensions import db

    db.session.commit()  # no transaction of ours is open while the child works
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            db.engine.dispose(close=False)  # never use the parent's connections
            measure = creation._measure

            def doomed(drawing, kind, first_stage):
                if after_first_stage:
                    measure(drawing, kind, first_stage)
                os.kill(os.getpid(), signal.SIGKILL)

            creation._measure = doomed
            func(*args)
            db.session.remove()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    db.session.expire_all()
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def drawing_of(db, quote_id) -> Drawing:
    db.session.expire_all()
    return db.session.scalar(db.select(Drawing).filter_by(quote_id=quote_id))


def page_text(client, quote_id) -> str:
    from xometry_site.extensions import db

    quote = db.session.get(Quote, quote_id)
    response = client.get(f"/quotes/{quote.ref}?lang=en")
    assert response.status_code == 200
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


@pytest.fixture
def queued(monkeypatch):
    """The analysis jobs recovery queues, recorded instead of run."""
    jobs: list[tuple[str, tuple, str]] = []

    def record(func, *args, queue="default", **kwargs):
        jobs.append((func.__name__, args, queue))

    monkeypatch.setattr(analysis_recovery, "enqueue", record)
    return jobs


def test_a_killed_analysis_is_measured_again_and_the_quote_priced(app, client, db, customer):
    quote_id = waiting_quote(app, db, customer)
    assert in_doomed_worker(creation.analyse_quote, quote_id) == KILLED
    drawing = drawing_of(db, quote_id)
    assert drawing.analysis_status == "measuring"
    assert drawing.analysis_attempts == 1
    assert drawing.claimed_at is not None
    assert db.session.get(Quote, quote_id).status == "analysing"
    assert "Analysing…" in page_text(client, quote_id)

    assert recover_stale_claims(now=utcnow() + LATER) == 1  # the analysis runs inline here

    drawing = drawing_of(db, quote_id)
    quote = db.session.get(Quote, quote_id)
    assert drawing.analysis_status == "analysed"
    assert drawing.analysis_attempts == 2
    assert drawing.has_preview
    assert quote.status == "quoted" and quote.price_source == "instant"
    text = page_text(client, quote_id)
    assert "Instant price" in text
    assert f"¥{quote.total:,.2f}" in text


def test_a_worker_killed_after_the_early_price_leaves_it_unorderable_until_measured_again(
    app, client, db, customer
):
    quote_id = waiting_quote(app, db, customer)
    assert in_doomed_worker(creation.analyse_quote, quote_id, after_first_stage=True) == KILLED
    quote = db.session.get(Quote, quote_id)
    assert drawing_of(db, quote_id).analysis_status == "measuring"
    assert quote.status == "analysing" and quote.total is not None
    text = page_text(client, quote_id)
    assert f"¥{quote.total:,.2f}" in text and "Checking manufacturability" in text
    assert client.get(f"/quotes/{quote.ref}/accept").status_code == 302

    assert recover_stale_claims(now=utcnow() + LATER) == 1  # the analysis runs inline here

    quote = db.session.get(Quote, quote_id)
    assert drawing_of(db, quote_id).analysis_status == "analysed"
    assert quote.status == "quoted"
    assert "Checking manufacturability" not in page_text(client, quote_id)
    assert client.get(f"/quotes/{quote.ref}/accept").status_code == 200


def test_a_fresh_claim_is_left_to_its_worker(app, db, customer, queued):
    quote_id = waiting_quote(app, db, customer)
    drawing_id = drawing_of(db, quote_id).id
    assert creation._claim_drawing(drawing_id)  # a live worker is measuring it right now
    claimed_at = drawing_of(db, quote_id).claimed_at
    assert utcnow() - claimed_at < timedelta(minutes=1)

    assert recover_stale_claims() == 0
    assert recover_stale_claims(now=utcnow() + timedelta(minutes=14)) == 0

    drawing = drawing_of(db, quote_id)
    assert (drawing.analysis_status, drawing.analysis_attempts) == ("measuring", 1)
    assert drawing.claimed_at == claimed_at
    assert queued == []


def test_a_claim_younger_than_two_step_timeouts_is_never_taken(app, db, customer, queued):
    app.config.update(ANALYSIS_CLAIM_TIMEOUT=30, STEP_TIMEOUT=600)  # a setting too short
    quote_id = waiting_quote(app, db, customer)
    assert creation._claim_drawing(drawing_of(db, quote_id).id)
    assert recover_stale_claims(now=utcnow() + timedelta(minutes=19)) == 0
    assert recover_stale_claims(now=utcnow() + timedelta(minutes=21)) == 1
    assert queued == [("analyse_quote", (quote_id,), "analysis")]


def test_a_drawing_that_kills_every_worker_goes_to_an_engineer_after_three_starts(
    app, client, db, customer, make_user, monkeypatch
):
    quote_id = waiting_quote(app, db, customer)
    fates: list[int] = []

    def enqueue_on_a_doomed_worker(func, *args, queue="default", **kwargs):
        assert (func, queue) == (creation.analyse_quote, "analysis")
        fates.append(in_doomed_worker(func, *args))

    monkeypatch.setattr(analysis_recovery, "enqueue", enqueue_on_a_doomed_worker)
    assert in_doomed_worker(creation.analyse_quote, quote_id) == KILLED
    moment = utcnow()
    for start in (2, 3):
        moment += LATER
        assert recover_stale_claims(now=moment) == 1
        drawing = drawing_of(db, quote_id)
        assert (drawing.analysis_status, drawing.analysis_attempts) == ("measuring", start)
    assert fates == [KILLED, KILLED]
    assert db.session.get(Quote, quote_id).status == "analysing"

    moment += LATER
    assert recover_stale_claims(now=moment) == 1
    assert fates == [KILLED, KILLED, 0]  # the last job measured nothing: it only priced

    drawing = drawing_of(db, quote_id)
    quote = db.session.get(Quote, quote_id)
    assert drawing.analysis_status == "failed"
    assert drawing.review_reason == "analysis_failed"
    assert drawing.analysis_attempts == 3
    assert quote.status == "in_review"
    assert quote.review_reason == "analysis_failed"
    assert quote.review_due is not None
    statuses = db.session.scalars(db.select(QuoteEvent.status).filter_by(quote_id=quote_id)).all()
    assert statuses.count("in_review") == 1
    text = page_text(client, quote_id)
    assert "In review" in text
    assert "We could not measure this file automatically" in text
    assert recover_stale_claims(now=moment + LATER) == 0

    staff = app.test_client()  # the engineers' queue lists it, oldest first, as any review
    sign_in(staff, make_user(is_staff=True))
    assert quote.ref in staff.get("/admin/quotes?status=in_review").get_data(as_text=True)


def test_recovery_run_twice_queues_the_analysis_once(app, db, customer, queued):
    quote_id = waiting_quote(app, db, customer)
    assert in_doomed_worker(creation.analyse_quote, quote_id) == KILLED
    later = utcnow() + LATER
    assert recover_stale_claims(now=later) == 1
    assert recover_stale_claims(now=later) == 0
    assert recover_stale_claims(now=later + WITHIN) == 0  # pending now: the queued job's to take
    assert queued == [("analyse_quote", (quote_id,), "analysis")]
    drawing = drawing_of(db, quote_id)
    assert (drawing.analysis_status, drawing.claimed_at) == ("pending", later)


def test_two_schedulers_at_once_free_a_claim_once(app, db, customer, queued, monkeypatch):
    quote_id = waiting_quote(app, db, customer)
    assert in_doomed_worker(creation.analyse_quote, quote_id) == KILLED
    both_read = threading.Barrier(2, timeout=20)
    claim = analysis_recovery.claim

    def claim_when_both_have_read(statement):
        both_read.wait()  # both saw the stale claim before either UPDATE
        return claim(statement)

    monkeypatch.setattr(analysis_recovery, "claim", claim_when_both_have_read)
    later = utcnow() + LATER
    counts: list[int] = []
    failures: list[BaseException] = []

    def scheduler() -> None:
        try:
            with app.app_context():
                counts.append(recover_stale_claims(now=later))
                db.session.remove()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not failures
    assert sorted(counts) == [0, 1]
    assert queued == [("analyse_quote", (quote_id,), "analysis")]
    assert drawing_of(db, quote_id).analysis_status == "pending"


def test_a_cancelled_quote_is_not_analysed_again(app, client, db, customer, queued):
    quote_id = waiting_quote(app, db, customer)
    assert in_doomed_worker(creation.analyse_quote, quote_id) == KILLED
    quote = db.session.get(Quote, quote_id)
    acceptance.cancel_quote(quote, customer)
    assert recover_stale_claims(now=utcnow() + LATER) == 0
    assert queued == []


def test_the_scheduler_runs_recovery_every_ten_minutes(app, db, customer):
    from xometry_site.services.periodic import SCHEDULE, tick

    jobs = [job for job in SCHEDULE if job.name == "analysis-recovery"]
    assert [job.every for job in jobs] == [timedelta(minutes=10)]
    quote_id = waiting_quote(app, db, customer)
    assert in_doomed_worker(creation.analyse_quote, quote_id) == KILLED
    _age_claim(db, quote_id, timedelta(hours=1))
    last_run: dict = {}
    assert tick(None, schedule=tuple(jobs), last_run=last_run) == ["analysis-recovery"]
    db.session.expire_all()
    assert db.session.get(Quote, quote_id).status == "quoted"
    assert tick(None, schedule=tuple(jobs), last_run=last_run) == []  # not due again yet


def test_flask_quotes_recover_frees_a_claim_from_before_claims_were_timed(
    app, db, runner, customer
):
    quote_id = waiting_quote(app, db, customer)
    db.session.execute(  # stuck since before the migration: measuring, no claim time
        db.update(Drawing).filter_by(quote_id=quote_id).values(analysis_status="measuring")
    )
    db.session.commit()
    result = runner.invoke(args=["quotes", "recover"])
    assert result.exit_code == 0, result.output
    assert "recovered 1 stalled drawing analysis" in result.output
    db.session.expire_all()
    assert db.session.get(Quote, quote_id).status == "quoted"
    again = runner.invoke(args=["quotes", "recover"])
    assert "recovered 0 stalled drawing analysis" in again.output


def test_a_drawing_whose_job_was_lost_is_analysed_and_the_quote_priced(app, client, db, customer):
    quote_id = waiting_quote(app, db, customer)  # its job never ran: Redis was flushed
    assert "Analysing…" in page_text(client, quote_id)

    assert recover_stale_claims(now=utcnow() + LATER) == 1  # the analysis runs inline here

    drawing = drawing_of(db, quote_id)
    quote = db.session.get(Quote, quote_id)
    assert (drawing.analysis_status, drawing.analysis_attempts) == ("analysed", 1)
    assert drawing.has_preview
    assert quote.status == "quoted" and quote.price_source == "instant"
    text = page_text(client, quote_id)
    assert "Instant price" in text
    assert f"¥{quote.total:,.2f}" in text


def test_a_drawing_released_after_our_own_error_is_analysed_again(app, db, customer):
    quote_id = waiting_quote(app, db, customer)
    drawing_id = drawing_of(db, quote_id).id
    assert creation._claim_drawing(drawing_id)
    creation._release_claim(drawing_id)  # a commit failed, and RQ's retries all failed too
    drawing = drawing_of(db, quote_id)
    assert (drawing.analysis_status, drawing.claimed_at) == ("pending", None)

    assert recover_stale_claims(now=utcnow() + LATER) == 1

    drawing = drawing_of(db, quote_id)
    assert (drawing.analysis_status, drawing.analysis_attempts) == ("analysed", 2)
    assert db.session.get(Quote, quote_id).status == "quoted"


def test_a_fresh_pending_drawing_is_left_to_its_queued_job(app, db, customer, queued):
    quote_id = waiting_quote(app, db, customer)

    assert recover_stale_claims() == 0
    assert recover_stale_claims(now=utcnow() + WITHIN) == 0

    drawing = drawing_of(db, quote_id)
    assert (drawing.analysis_status, drawing.analysis_attempts) == ("pending", 0)
    assert drawing.claimed_at is None
    assert queued == []


def test_a_pending_drawing_at_the_attempt_limit_goes_to_an_engineer(app, client, db, customer):
    quote_id = waiting_quote(app, db, customer)
    drawing_id = drawing_of(db, quote_id).id
    for _ in range(3):  # three starts, each ended by an error of ours that released the claim
        assert creation._claim_drawing(drawing_id)
        creation._release_claim(drawing_id)

    assert recover_stale_claims(now=utcnow() + WITHIN) == 0
    assert recover_stale_claims(now=utcnow() + LATER) == 1

    drawing = drawing_of(db, quote_id)
    quote = db.session.get(Quote, quote_id)
    assert (drawing.analysis_status, drawing.review_reason) == ("failed", "analysis_failed")
    assert drawing.analysis_attempts == 3  # not started a fourth time
    assert quote.status == "in_review" and quote.review_reason == "analysis_failed"
    assert "We could not measure this file automatically" in page_text(client, quote_id)
    assert recover_stale_claims(now=utcnow() + 2 * LATER) == 0
    from xometry_site.models import StaffAlert  # giving up calls a person, once

    [alert] = db.session.scalars(db.select(StaffAlert)).all()
    assert (alert.kind, alert.subject, alert.count) == ("analysis_failed", f"quote:{quote_id}", 1)


def test_recovery_of_a_lost_job_run_twice_queues_it_once(app, db, customer, queued):
    quote_id = waiting_quote(app, db, customer)
    later = utcnow() + LATER
    assert recover_stale_claims(now=later) == 1
    assert recover_stale_claims(now=later) == 0
    assert recover_stale_claims(now=later + WITHIN) == 0  # its job may just wait in a long queue
    assert queued == [("analyse_quote", (quote_id,), "analysis")]
    drawing = drawing_of(db, quote_id)
    assert (drawing.analysis_status, drawing.claimed_at) == ("pending", later)

    assert recover_stale_claims(now=later + LATER) == 1  # a full timeout on: lost again
    assert queued == [("analyse_quote", (quote_id,), "analysis")] * 2
    assert drawing_of(db, quote_id).analysis_attempts == 0


def _age_claim(db, quote_id, age: timedelta) -> None:
    """The claim was taken `age` ago (its worker died then)."""
    db.session.execute(
        db.update(Drawing).filter_by(quote_id=quote_id).values(claimed_at=utcnow() - age)
    )
    db.session.commit()


class TestOnRQ:
    """With Redis, recovery puts the job on the analysis queue once and a worker prices it."""

    REDIS = "redis://127.0.0.1:6379/6"  # test_quotes_analysis uses 7, production tests 8-15

    @pytest.fixture
    def app_config(self):
        from conftest import redis_app_config

        yield from redis_app_config(self.REDIS)

    def test_recovery_queues_once_and_a_worker_prices_the_quote(self, app, db, customer):
        from xometry_site.jobs_cli import make_worker
        from xometry_site.services.jobs import get_queue

        quote_id = waiting_quote(app, db, customer)
        assert in_doomed_worker(creation.analyse_quote, quote_id) == KILLED
        later = utcnow() + LATER
        assert recover_stale_claims(now=later) == 1
        assert recover_stale_claims(now=later) == 0
        assert get_queue("analysis").count == 1
        make_worker(app, ("analysis",)).work(burst=True, with_scheduler=False)
        db.session.expire_all()
        assert db.session.get(Quote, quote_id).status == "quoted"
        assert drawing_of(db, quote_id).analysis_attempts == 2
