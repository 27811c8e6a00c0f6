"""Background work: inline by default, RQ on Redis when REDIS_URL is set."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Callable
from typing import Any

from flask import current_app, has_app_context

from ..log_setup import tracebacks

log = logging.getLogger(__name__)
_worker_app = None
_work_horse = False  # this process is an RQ work horse: forked for one job, gone after it


def mark_work_horse() -> None:
    """Called in the work horse RQ forks per job (jobs_cli.AppWorker)."""
    global _work_horse
    _work_horse = True


def yield_cpu_for_the_rest(niceness: int) -> None:
    """Lower this process's priority for the rest of a job whose urgent part is done: only in a
    work horse, which exits after the job (a web worker running a job inline must not)."""
    if _work_horse:
        with contextlib.suppress(OSError):
            os.nice(niceness)


def get_queue(name: str = "default"):
    """The RQ queue for this app, or None when jobs run inline."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    from redis import Redis
    from rq import Queue

    from ..deadlines import redis_options

    cache = current_app.extensions.setdefault("rq_queues", {})
    if name not in cache:
        # a hung Redis costs the request JOBS_REDIS_TIMEOUT, then the job runs inline
        options = redis_options(float(current_app.config["JOBS_REDIS_TIMEOUT"]))
        cache[name] = Queue(name, connection=Redis.from_url(url, **options))
    return cache[name]


def task(func: Callable[..., Any]) -> Callable[..., Any]:
    """Give a job an app context when a worker runs it outside of one."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        global _worker_app
        if has_app_context():
            return func(*args, **kwargs)
        if _worker_app is None:
            from .. import create_app

            _worker_app = create_app()
        with _worker_app.app_context():
            return func(*args, **kwargs)

    return wrapper


def enqueue(func: Callable[..., Any], *args: Any, queue: str = "default", **kwargs: Any) -> None:
    """Run `func` later on a worker, or now when there is no queue; never raise into the caller.

    Jobs must be idempotent and take plain ids, not ORM objects: a worker has its own session.
    """
    q = get_queue(queue)
    if q is not None:
        try:
            from rq import Retry

            # Arguments can carry rendered mail with single-use links: a finished job is deleted at
            # once (result_ttl=0) and a failed one kept a day for inspection, not a week.
            q.enqueue(
                func,
                *args,
                **kwargs,
                job_timeout=3600,
                result_ttl=0,
                failure_ttl=86400,
                retry=Retry(max=3, interval=[10, 60, 300]),
            )
            return
        except Exception as error:  # Redis down: run it here rather than lose it
            tracebacks.log(
                log,
                logging.WARNING,
                error,
                "job.enqueue_failed func=%s; running inline",
                func.__name__,
            )
    try:
        func(*args, **kwargs)
    except Exception:
        log.exception("job.failed func=%s", func.__name__)
