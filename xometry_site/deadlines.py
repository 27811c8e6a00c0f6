"""Deadlines on the calls that leave the process, wired from the settings in config.py.

Each client is given its timeouts through its own public options: redis-py's socket timeouts and
retry policy, libpq's connect_timeout and statement_timeout, botocore's Config (storage.py),
smtplib's timeout (mail.py), requests' timeout (wechat.py). A provider we do not control (SMS) is
called with a deadline of our own (`call_with_deadline`).
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from flask import Flask, current_app, has_request_context

T = TypeVar("T")
# Set in a helper thread doing a request's work (the health checks): counts as a web request.
web_work: ContextVar[bool] = ContextVar("web_work", default=False)


class DeadlineExceeded(Exception):
    """The call did not finish within its deadline; it may still finish later, unobserved."""


def redis_options(timeout: float) -> dict[str, Any]:
    """redis-py client options: connect and every command within `timeout` seconds, no retries
    (redis-py retries a timed-out command three times with backoff of up to 10 s by default)."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
    }


def configure_limiter_storage(app: Flask) -> None:
    """RATELIMIT_STORAGE_OPTIONS for a Redis limiter, unless set explicitly: a hung Redis costs
    a sign-in RATELIMIT_REDIS_TIMEOUT, then Flask-Limiter counts in memory until it answers."""
    uri = app.config.get("RATELIMIT_STORAGE_URI") or ""
    if uri.startswith(("redis://", "rediss://", "redis+unix://")):
        options = redis_options(float(app.config["RATELIMIT_REDIS_TIMEOUT"]))
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", options)


_pool_lock = threading.Lock()
_pool: concurrent.futures.ThreadPoolExecutor | None = None


def _executor() -> concurrent.futures.ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(8, thread_name_prefix="deadline")
        return _pool


def call_with_deadline(seconds: float, func: Callable[..., T], *args: Any) -> T:
    """`func(*args)` in a helper thread; DeadlineExceeded after `seconds` (the caller goes on,
    the helper finishes or fails on its own). For clients that offer no timeout of their own."""
    future = _executor().submit(func, *args)
    try:
        return future.result(timeout=seconds)
    except concurrent.futures.TimeoutError:
        raise DeadlineExceeded(f"no answer within {seconds:g} s") from None


def _request_statement_timeout(dialect: Any, _record: Any, _args: Any, params: dict) -> None:
    """A connection a web request opens on PostgreSQL gets the short statement timeout (the
    gunicorn workers' connections are all opened by requests); one a job or a command opens keeps
    the engine's DB_STATEMENT_TIMEOUT_MS. Set at connection, so it costs no round trip."""
    if dialect.name != "postgresql" or not (has_request_context() or web_work.get()):
        return
    milliseconds = int(current_app.config.get("DB_REQUEST_STATEMENT_TIMEOUT_MS") or 0)
    if milliseconds > 0:  # libpq applies -c options in order: the last one wins
        options = params.get("options") or ""
        params["options"] = f"{options} -c statement_timeout={milliseconds}".strip()


_listening = False


def init_app(app: Flask) -> None:
    """Limiter storage options, and per-request statement timeouts (one listener for all apps)."""
    global _listening
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    configure_limiter_storage(app)
    with _pool_lock:
        if not _listening:
            event.listen(Engine, "do_connect", _request_statement_timeout)
            _listening = True
