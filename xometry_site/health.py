"""What /healthz reports: each dependency's state, every check bounded in time.

The checks run in helper threads and the answer waits HEALTH_CHECK_TIMEOUT for all of them: a
dependency that has not answered by then is reported as "timeout". A check still running from an
earlier request is waited on again rather than started twice, so a hung dependency holds at most
one helper thread per check and process (the clients' own deadlines end it).

States: "ok", "unreachable" (an error), "timeout" (no answer in time), "disabled" (not configured,
as Redis in development). The answer is 503 when a dependency in HEALTH_REQUIRED is not "ok":
by default only the database, since the site keeps working without Redis (limits in memory, jobs
inline) and without storage (everything but drawings), and a load balancer that took every
instance out for those would turn a degraded site into no site.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import text

log = logging.getLogger(__name__)
CHECKS = ("database", "redis", "storage")
_lock = threading.Lock()
_executor = concurrent.futures.ThreadPoolExecutor(len(CHECKS) * 2, thread_name_prefix="health")
_running: dict[tuple[int, str], concurrent.futures.Future] = {}


def _database(app: Flask) -> str:
    from .deadlines import web_work
    from .extensions import db

    web_work.set(True)  # a connection opened here joins the pool the requests use
    with app.app_context():
        try:
            db.session.execute(text("SELECT 1"))
        finally:
            db.session.remove()
    return "ok"


def _redis(app: Flask) -> str:
    url = app.config.get("REDIS_URL")
    if not url:
        return "disabled"
    from redis import Redis

    from .deadlines import redis_options

    client = app.extensions.get("health_redis")
    if client is None:
        options = redis_options(float(app.config["HEALTH_CHECK_TIMEOUT"]))
        client = app.extensions.setdefault("health_redis", Redis.from_url(url, **options))
    client.ping()
    return "ok"


def _storage(app: Flask) -> str:
    from .services.storage import get_storage

    get_storage(app).check()
    return "ok"


_CHECK_FUNCTIONS: dict[str, Callable[[Flask], str]] = {
    "database": _database,
    "redis": _redis,
    "storage": _storage,
}


def _started(app: Flask, name: str) -> concurrent.futures.Future:
    key = (id(app), name)
    with _lock:
        future = _running.get(key)
        if future is None or future.done():
            future = _executor.submit(_CHECK_FUNCTIONS[name], app)
            _running[key] = future
        return future


def _state(name: str, future: concurrent.futures.Future) -> str:
    if not future.done():
        return "timeout"
    error = future.exception()
    if error is None:
        return future.result()
    log.warning("health.%s_failed error=%s", name, type(error).__name__)
    # a client's own deadline may end the check just before the budget does: the same outcome
    timed_out = isinstance(error, TimeoutError) or "Timeout" in type(error).__name__
    return "timeout" if timed_out else "unreachable"


def report(app: Flask) -> tuple[dict[str, Any], bool]:
    """({"status": "ok"|"error", "database": …, "redis": …, "storage": …}, healthy)."""
    budget = float(app.config.get("HEALTH_CHECK_TIMEOUT") or 0.5)
    futures = {name: _started(app, name) for name in CHECKS}
    concurrent.futures.wait(futures.values(), timeout=max(0.0, budget))
    states = {name: _state(name, future) for name, future in futures.items()}
    required = {n.strip() for n in (app.config.get("HEALTH_REQUIRED") or "database").split(",")}
    healthy = all(states[name] in ("ok", "disabled") for name in required if name in states)
    return {"status": "ok" if healthy else "error", **states}, healthy
