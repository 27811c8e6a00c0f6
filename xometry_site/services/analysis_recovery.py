"""Drawing analyses whose worker died: queued again, or sent to an engineer after a few starts.

`quoting._claim_drawing` marks a drawing "measuring" with the time and counts the start. A worker
killed mid-analysis (SIGKILL, out of memory, host lost) never finishes nor releases the claim, and
RQ's retry of the job skips a drawing someone is measuring: without this the quote would stay
"analysing" for ever. Run every 10 minutes by the scheduler, or by hand as `flask quotes recover`.

Each drawing changes with one conditional UPDATE (still measuring, still old, same attempt count),
so two schedulers at once free it once and only the one whose UPDATE matched queues the job.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import Drawing, Quote
from ..models.base import utcnow
from .jobs import enqueue
from .quoting import DEFAULT_STEP_TIMEOUT, _claim, analyse_quote

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
    """Free the claims of dead workers; returns how many drawings this call freed.

    Under ANALYSIS_MAX_ATTEMPTS starts a drawing goes back to "pending" and its quote's analysis
    is queued again; at the limit it is "failed" (`analysis_failed`) and the same job prices the
    rest of the quote and sends it to an engineer, exactly as when an analysis raises.
    """
    cutoff = (now or utcnow()) - claim_timeout()
    max_attempts = int(current_app.config.get("ANALYSIS_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))
    stale = db.session.execute(
        db.select(Drawing.id, Drawing.quote_id, Drawing.analysis_attempts)
        .join(Quote, Quote.id == Drawing.quote_id)
        .where(
            Drawing.analysis_status == "measuring",
            Drawing.deleted_at.is_(None),
            _older_than(cutoff),
            Quote.status == "analysing",  # nobody waits on a cancelled or hand-priced quote
        )
        .order_by(Drawing.id)
    ).all()
    db.session.rollback()  # end the read: each UPDATE below is its own short transaction
    requeued, given_up, quote_ids = 0, 0, []
    for drawing_id, quote_id, attempts in stale:
        if attempts >= max_attempts:
            values = {"analysis_status": "failed", "review_reason": GIVE_UP_REASON}
        else:
            values = {"analysis_status": "pending", "claimed_at": None}
        won = _claim(
            db.update(Drawing)
            .where(
                Drawing.id == drawing_id,
                Drawing.analysis_status == "measuring",
                Drawing.analysis_attempts == attempts,
                _older_than(cutoff),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if not won:  # another scheduler freed it, or its worker finished meanwhile
            continue
        if values["analysis_status"] == "failed":
            given_up += 1
        else:
            requeued += 1
        if quote_id not in quote_ids:  # one job per quote, however many drawings were freed
            quote_ids.append(quote_id)
    for quote_id in quote_ids:
        enqueue(analyse_quote, quote_id, queue="analysis")
    if stale:
        log.info(
            "quote.analysis_recovered requeued=%d sent_to_review=%d quotes=%d",
            requeued,
            given_up,
            len(quote_ids),
        )
    return requeued + given_up


def _older_than(cutoff: datetime):
    """A claim from before `cutoff`, or from before claims were timed (no `claimed_at`)."""
    return sa.or_(Drawing.claimed_at.is_(None), Drawing.claimed_at < cutoff)
