"""`flask worker` runs queued jobs; `flask scheduler` enqueues the periodic ones (see deploy/);
`flask outbox retry` delivers the mail and text messages that are due."""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

QUEUES = ("default", "mail", "analysis", "exports")
log = logging.getLogger("xometry_site.jobs")


def _redis(app: Flask):
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    from redis import Redis

    return Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)


def make_worker(app: Flask, queue_names: tuple[str, ...]):
    """An RQ worker whose jobs each run in a fresh app context of `app`."""
    from rq import Queue, Worker

    from .extensions import db
    from .services.jobs import mark_work_horse

    class AppWorker(Worker):
        """Forks a work horse per job; the horse drops the parent's database pool first."""

        parent_pid = os.getpid()

        def perform_job(self, job: Any, queue: Any, *args: Any, **kwargs: Any) -> bool:
            with app.app_context():
                if os.getpid() != self.parent_pid:
                    db.engine.dispose(close=False)  # never share a socket with the parent
                    mark_work_horse()
                return super().perform_job(job, queue, *args, **kwargs)

    connection = _redis(app)
    queues = [Queue(name, connection=connection) for name in queue_names]
    # log_job_description=False: RQ would otherwise log each job's arguments (e-mail bodies).
    return AppWorker(queues, connection=connection, log_job_description=False)


def prepare_horses(app: Flask, queue_names: tuple[str, ...]) -> None:
    """Work done once here rather than in every work horse RQ forks for a job, which inherits it:
    the ORM's mappers (0.1 s), and for drawing analysis its modules and the warm OpenCascade
    process (a second)."""
    from sqlalchemy.orm import configure_mappers

    configure_mappers()
    if "analysis" in queue_names:
        from .services.quotes.creation import prepare_analysis

        prepare_analysis(warm=bool(app.config.get("STEP_WARM_WORKER", True)))


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty (tests, cron).")
@click.option(
    "--queue", "queue_names", multiple=True, default=QUEUES, show_default=True, help="Queues."
)
@click.option("--with-scheduler/--without-scheduler", default=True, help="RQ's delayed jobs.")
@with_appcontext
def worker_command(burst: bool, queue_names: tuple[str, ...], with_scheduler: bool) -> None:
    """Run background jobs (mail, drawing analysis, exports, erasures) from Redis."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: jobs run inline and need no worker.")
    prepare_horses(app, queue_names)
    worker = make_worker(app, queue_names)
    worker.work(burst=burst, with_scheduler=with_scheduler and not burst, logging_level="INFO")


@click.command("scheduler")
@click.option("--once", is_flag=True, help="One tick, then exit (tests, cron).")
@click.option(
    "--interval",
    type=int,
    default=lambda: int(os.environ.get("SCHEDULER_TICK_SECONDS") or 60),
    help="Seconds between ticks (SCHEDULER_TICK_SECONDS, default 60).",
)
@with_appcontext
def scheduler_command(once: bool, interval: int) -> None:
    """Enqueue the periodic jobs when due; safe to run on every instance (a Redis key decides)."""
    from .services.periodic import tick

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    connection = _redis(app)
    last_run: dict = {}
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log.info("scheduler.started interval=%ss shared=%s", interval, connection is not None)
    while not stop.is_set():
        try:
            with app.app_context():
                started = tick(connection, last_run=last_run)
            if once:
                click.echo(" ".join(started) or "nothing due")
        except Exception:  # Redis or the database away: try again next tick
            log.exception("scheduler.tick_failed")
            if once:
                raise
        if once:
            break
        stop.wait(interval)


outbox_cli = AppGroup("outbox", help="Mail and text messages waiting to be delivered.")


@outbox_cli.command("retry")
@click.option("--limit", type=int, default=500, show_default=True, help="Messages per run.")
@with_appcontext
def outbox_retry_command(limit: int) -> None:
    """Deliver every message that is due: lost jobs, retries after backoff, dead deliverers'."""
    from .services.outbox import deliver_due

    outcomes = deliver_due(limit=limit)
    click.echo(" ".join(f"{k}={v}" for k, v in sorted(outcomes.items())) or "nothing due")


def register(app: Flask) -> None:
    app.cli.add_command(worker_command)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(outbox_cli)
