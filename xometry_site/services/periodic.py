"""Periodic work (retention purge, storage sweep, stalled analyses, mail and text messages due),
started by `flask scheduler`.

Every scheduler ticks; for each job, the first to `SET key NX EX <period>` in Redis enqueues it and
the others see the key and skip, so several instances may run a scheduler safely. Jobs themselves
are idempotent, so a job enqueued twice (a Redis failover) does no harm.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .jobs import enqueue, task

log = logging.getLogger(__name__)
KEY_PREFIX = "xometry:periodic:"


@dataclass(frozen=True)
class Periodic:
    """A job run every `every`; `target` is "module:function", imported only when due."""

    name: str
    target: str
    every: timedelta
    queue: str = "default"

    def function(self) -> Callable[..., Any]:
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)


@task
def retention_purge_job() -> None:
    """`flask privacy purge` as a job: erasures due, expired exports, old records (policy 3.1)."""
    from .privacy.retention import PurgeBusy, purge

    try:
        purge()
    except PurgeBusy:  # another instance's purge is running: it does the same work
        log.info("periodic.purge_busy")


@task
def blob_sweep_job() -> None:
    """Remove blobs no row refers to (older than the grace period)."""
    from .blob_sweep import sweep_blobs

    sweep_blobs()


@task
def analysis_recovery_job() -> None:
    """Queue again (or send to an engineer) drawings whose analysing worker was killed."""
    from .quotes.analysis_recovery import recover_stale_claims

    recover_stale_claims()


@task
def outbox_retry_job() -> None:
    """`flask outbox retry` as a job: mail and texts whose job was lost or whose retry is due."""
    from .outbox import deliver_due

    deliver_due()


SCHEDULE: tuple[Periodic, ...] = (
    Periodic(
        "retention-purge", "xometry_site.services.periodic:retention_purge_job", timedelta(hours=1)
    ),
    Periodic("blob-sweep", "xometry_site.services.periodic:blob_sweep_job", timedelta(hours=6)),
    Periodic(
        "outbox-retry", "xometry_site.services.periodic:outbox_retry_job", timedelta(minutes=1)
    ),
    Periodic(
        "analysis-recovery",
        "xometry_site.services.periodic:analysis_recovery_job",
        timedelta(minutes=10),
    ),
)


def tick(
    connection: Any | None,
    schedule: tuple[Periodic, ...] = SCHEDULE,
    last_run: dict[str, datetime] | None = None,
    now: datetime | None = None,
) -> list[str]:
    """Enqueue each job whose period has passed; returns the names enqueued by this caller.

    With Redis, the period is a key's lifetime shared by every scheduler; without it (development)
    `last_run` remembers the times in this process.
    """
    now = now or datetime.now(UTC)
    started = []
    for job in schedule:
        if connection is not None:
            seconds = max(1, int(job.every.total_seconds()))
            due = connection.set(KEY_PREFIX + job.name, now.isoformat(), nx=True, ex=seconds)
        else:
            previous = (last_run or {}).get(job.name)
            due = previous is None or now - previous >= job.every
            if due and last_run is not None:
                last_run[job.name] = now
        if due:
            enqueue(job.function(), queue=job.queue)
            started.append(job.name)
            log.info("periodic.enqueued job=%s", job.name)
    return started
