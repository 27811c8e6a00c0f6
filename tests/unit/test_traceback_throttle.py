"""The traceback of an error that fails every request is logged once a minute, not per request."""

from __future__ import annotations

import logging

from xometry_site.log_setup import TracebackThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _raise(error: Exception) -> Exception:
    try:
        raise error
    except Exception as caught:
        return caught


def _refused() -> Exception:
    return _raise(ConnectionRefusedError("refused"))


def _timed_out() -> Exception:
    return _raise(TimeoutError("timed out"))


def test_one_line_per_failure_and_the_traceback_once_per_error_per_minute(caplog):
    clock = Clock()
    throttle = TracebackThrottle(period=60, clock=clock)
    log = logging.getLogger("xometry_site.test_throttle")
    caplog.set_level(logging.WARNING, logger="xometry_site.test_throttle")

    for _ in range(100):
        throttle.log(log, logging.ERROR, _refused(), "error.unavailable path=%s", "/account")
        clock.now += 0.1  # 100 failures in 10 s
    throttle.log(log, logging.ERROR, _timed_out(), "error.unavailable path=%s", "/quotes")
    clock.now += 60  # a minute later the same error is shown in full again
    throttle.log(log, logging.ERROR, _refused(), "error.unavailable path=%s", "/account")

    records = caplog.records
    assert len(records) == 102
    assert records[0].getMessage() == "error.unavailable path=/account error=ConnectionRefusedError"
    with_traceback = [r.getMessage() for r in records if r.exc_info]
    assert with_traceback == [
        "error.unavailable path=/account error=ConnectionRefusedError",
        "error.unavailable path=/quotes error=TimeoutError",
        "error.unavailable path=/account error=ConnectionRefusedError",
    ]
