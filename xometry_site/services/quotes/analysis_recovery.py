"""Drawing analyses whose worker died or whose job was lost: queued again, or sent to an engineer.

`creation._claim_drawing` marks a drawing "measuring" with the time and counts the start. A worker
killed mid-analysis (SIGKILL, out of memory, host lost) never finishes nor releases the claim, and
RQ's retry of the job skips a drawing someone is measuring. A drawing still "pending" has lost its
job when Redis was flushed, or when our own error after `_release_claim` used up RQ's retries.
Without this the quote would stay "analysing" for ever. Run every 10 minutes by the scheduler, or
by hand as `flask quotes recover`.

A pending drawing's last activity is its `claimed_at`, else its `created_at`; recovery stamps
`claimed_at` when it queues a job, so a job merely waiting in a long queue is queued again only
once per timeout, not on every run. Each drawing changes with one conditional UPDATE (same status,
still old, same attempt count), so two schedulers at once act on it once and only the one whose
UPDATE matched queues the job.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from ...extensions import db
from ...models import Drawing, Quote
from ...models.base import utcnow
from ..alerts import ANALYSIS_FAILED, raise_alert
from ..jobs import enqueue
from .creation import DEFAULT_STEP_TIMEOUT, analyse_quote, claim

log = logging.getLogger(__name__)

DEFAULT_CLAIM_TIMEOUT = 900
DEFAULT_MAX_ATTEMPTS = 3
GIVE_UP_REASON = "analysis_failed"  # what an analysis that raised records: same label, same path


def claim_timeout() -> timedelta:
    """ANALYSIS_CLAIM_TIMEOUT, never below twice STEP_TIMEOUT: a live STEP analysis is not dead."""
    config = current_app.config
    configured = float(config.get("ANALYSIS_CLAIM_TIMEOUT", DEFAULT_CLAIM_TIMEOUT))
    step = float(config.get("STEP_TIMEOUT", DEFAULT_STEP_TIMEOUT))
    return timedelta(seconds=max(configured, 2 * step))


def recover_stale_claims(now: datetime | None = None) -> int:
    """Free dead workers' claims and re-queue lost jobs; returns how many drawings this call moved.

    Under ANALYSIS_MAX_ATTEMPTS starts a measuring drawing goes back to "pending" and a pending one
    is re-stamped, and the quote's analysis is queued again; at the limit either is "failed"
    (`analysis_failed`) and the same job prices the rest of the quote and sends it to an engineer,
    exactly as when an analysis raises.
    """
    now = now or utcnow()
    cutoff = now - claim_timeout()
    max_attempts = int(current_app.config.get("ANALYSIS_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))
    stale = db.session.execute(
        db.select(Drawing.id, Drawing.quote_id, Drawing.analysis_status, Drawing.analysis_attempts)
        .join(Quote, Quote.id == Drawing.quote_id)
        .where(
            sa.or_(_stale("measuring", cutoff), _stale("pending", cutoff)),
            Drawing.deleted_at.is_(None),
            Quote.status == "analysing",  # nobody waits on a cancelled or hand-priced quote
        )
        .order_by(Drawing.id)
    ).all()
    db.session.rollback()  # end the read: each UPDATE below is its own short transaction
    freed, lost, given_up, quote_ids = 0, 0, 0, []
    for drawing_id, quote_id, status, attempts in stale:
        if attempts >= max_attempts:
            values = {"analysis_status": "failed", "review_reason": GIVE_UP_REASON}
        else:  # the stamp makes the next run wait a full timeout for the job queued here
            values = {"analysis_status": "pending", "claimed_at": now}
        won = claim(
            db.update(Drawing)
            .where(
                Drawing.id == drawing_id,
                Drawing.analysis_attempts == attempts,
                _stale(status, cutoff),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if not won:  # another scheduler acted on it, or a worker claimed or finished it meanwhile
            continue
        if values["analysis_status"] == "failed":
            given_up += 1
            raise_alert(ANALYSIS_FAILED, f"quote:{quote_id}")  # a person must look at it
        elif status == "measuring":
            freed += 1
        else:
            lost += 1
        if quote_id not in quote_ids:  # one job per quote, however many drawings were moved
            quote_ids.append(quote_id)
    for quote_id in quote_ids:
        enqueue(analyse_quote, quote_id, queue="analysis")
    if stale:
        log.info(
            "quote.analysis_recovered requeued=%d lost_jobs=%d sent_to_review=%d quotes=%d",
            freed,
            lost,
            given_up,
            len(quote_ids),
        )
    return freed + lost + given_up


def _stale(status: str, cutoff: datetime):
    """A drawing in `status` with no activity since `cutoff` (see `_older_than`, `_idle_since`)."""
    age = _older_than(cutoff) if status == "measuring" else _idle_since(cutoff)
    return sa.and_(Drawing.analysis_status == status, age)


def _idle_since(cutoff: datetime):
    """Pending since before `cutoff`: claimed (then released) or queued by recovery, or uploaded."""
    return sa.func.coalesce(Drawing.claimed_at, Drawing.created_at) < cutoff


def _older_than(cutoff: datetime):
    """A claim from before `cutoff`, or from before claims were timed (no `claimed_at`)."""
    return sa.or_(Drawing.claimed_at.is_(None), Drawing.claimed_at < cutoff)
