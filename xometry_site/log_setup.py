"""Logging: one line per event, with a request id, newlines escaped; JSON lines in production."""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonEncoder, JsonFormatter
from werkzeug.wsgi import ClosingIterator

REQUEST_ID_KEY = "xometry.request_id"
LOG_PATH_KEY = "xometry.log_path"
USER_KEY = "xometry.user_id"
SIGNED_IN_USER_KEY = "signed_in_user_id"  # in `g`, set by the user loader
# Loggers that print whole URLs, headers or signed requests (secrets, WeChat codes) below WARNING.
CHATTY_LOGGERS = ("urllib3", "requests", "botocore", "boto3", "s3transfer", "wechatpy")
# URL arguments that are secrets in themselves (mail-link tokens, codes): never logged.
SECRET_ARGUMENT = re.compile(r"token|code|secret|key|sig", re.IGNORECASE)
RULE_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")

ACCESS_LOGGER = "xometry_site.access"
access_log = logging.getLogger(ACCESS_LOGGER)


class RequestIdFilter(logging.Filter):
    """Adds the request id and escapes newlines so one event is one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            in_request = has_request_context()
            record.request_id = request.environ.get(REQUEST_ID_KEY, "-") if in_request else "-"
        if isinstance(record.msg, str):
            record.msg = record.msg.replace("\r", "\\r").replace("\n", "\\n")
        if record.args:
            record.args = tuple(
                a.replace("\r", "\\r").replace("\n", "\\n") if isinstance(a, str) else a
                for a in (record.args if isinstance(record.args, tuple) else (record.args,))
            )
        return True


class _SiteHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is now; recognisable so that another app replaces it."""

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def _handler(json_lines: bool) -> logging.Handler:
    handler = _SiteHandler()
    if json_lines:
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
        )
    handler.addFilter(RequestIdFilter())
    return handler


class JsonLines(JsonFormatter):
    """python-json-logger's lines, timed as 2026-11-25T08:30:00.123Z: one clock for every instance
    and log store, and no local time zone, which glibc looks up on disk (a stat()) for every line
    when TZ is unset. The encoder is built once and each second's text formatted once."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            rename_fields={"levelname": "level", "asctime": "time"},
            json_ensure_ascii=False,
        )
        self._encoder = JsonEncoder(ensure_ascii=False)  # the library's, for dates and objects
        self._second: tuple[int, str] = (-1, "")

    def jsonify_log_record(self, log_data: dict[str, Any]) -> str:
        return self._encoder.encode(log_data)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second, text = self._second
        if int(record.created) != second:
            second = int(record.created)
            text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = (second, text)
        return f"{text}.{int(record.msecs):03d}Z"


class TracebackThrottle:
    """One line per failure, its traceback at most once per distinct error per `period` seconds:
    an outage failing every request would otherwise fill the log with the same traceback."""

    def __init__(self, period: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.period = period
        self.clock = clock
        self.last: dict[tuple, float] = {}
        self.lock = threading.Lock()

    def _due(self, error: BaseException) -> bool:
        """Whether this error's traceback is due: the first of its kind (type and place where it
        was raised) in the last `period` seconds."""
        tb = error.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        where = (tb.tb_frame.f_code.co_filename, tb.tb_lineno) if tb is not None else None
        key = (type(error).__module__, type(error).__qualname__, where)
        now = self.clock()
        with self.lock:
            if now - self.last.get(key, float("-inf")) < self.period:
                return False
            if len(self.last) > 1000:  # never grows without bound
                self.last = {k: t for k, t in self.last.items() if now - t < self.period}
            self.last[key] = now
            return True

    def log(
        self, logger: logging.Logger, level: int, error: BaseException, msg: str, *args: Any
    ) -> None:
        """`msg % args` and the error's type on one line; the traceback only when due."""
        exc_info = error if self._due(error) else None
        logger.log(level, msg + " error=%s", *args, type(error).__name__, exc_info=exc_info)


tracebacks = TracebackThrottle()


def configure_logging(app: Flask) -> None:
    handler = _handler(bool(app.config.get("LOG_JSON")))
    root = logging.getLogger("xometry_site")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = app.testing  # let pytest's caplog see the lines in tests
    if app.config.get("APP_ENV") == "production":
        _quiet_libraries(handler)
        _lean_records()
    app.wsgi_app = AccessLogMiddleware(app.wsgi_app)  # type: ignore[method-assign]

    @app.after_request
    def note_for_access_log(response):
        """What only the app knows: the route (secrets blanked) and who was signed in."""
        environ = request.environ
        environ[LOG_PATH_KEY] = loggable_path()
        user_id = _loaded_user_id()
        if user_id is not None:
            environ[USER_KEY] = user_id
        return response


def _loaded_user_id() -> str | None:
    """The signed-in user's id if this request loaded one (auth/loading.py notes it): logging
    must never query (the database may be the reason this response is an error page)."""
    user_id = g.get(SIGNED_IN_USER_KEY)
    return None if user_id is None else str(user_id)  # the id, never get_id() (it holds a token)


def _quiet_libraries(handler: logging.Handler) -> None:
    """Production: libraries log warnings and errors only, as the same JSON lines as ours."""
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    top = logging.getLogger()
    top.handlers[:] = [h for h in top.handlers if not isinstance(h, _SiteHandler)]
    top.addHandler(handler)
    if top.level == logging.NOTSET or top.level < logging.WARNING:
        top.setLevel(logging.WARNING)


def _lean_records() -> None:
    """Production lines hold time, level, logger, request id and message, so logging need not
    work out for every record the caller's file and line (a walk up the stack), the thread and
    the process: the switches of the logging HOWTO's "Optimization" section. A twentieth of a
    page served from the cache went there."""
    logging._srcfile = None  # type: ignore[attr-defined]  # the documented switch
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def new_request_id(environ: dict[str, Any]) -> str:
    """The proxy's X-Request-ID when it looks like one, else a fresh random id."""
    incoming = environ.get("HTTP_X_REQUEST_ID", "")
    ok = incoming and len(incoming) <= 64 and incoming.replace("-", "").isalnum()
    request_id = incoming if ok else uuid.uuid4().hex
    environ[REQUEST_ID_KEY] = request_id
    return request_id


def loggable_path() -> str:
    """The path without its query string, with secret URL arguments (mail tokens) blanked."""
    rule = request.url_rule
    if rule is None or not request.view_args:
        return request.path[:200]
    values = request.view_args

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return "[redacted]" if SECRET_ARGUMENT.search(name) else str(values.get(name, name))

    return RULE_ARGUMENT.sub(value, rule.rule)[:200]


class AccessLogMiddleware:
    """One line per request once its body is sent: method, path, status, duration, user id;
    and the request id on every response (X-Request-ID), error pages and static files too."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        started = time.perf_counter()
        request_id = new_request_id(environ)
        status: list[str] = []

        def recording_start_response(code: str, headers: list, exc_info: Any = None) -> Any:
            status[:] = [code.split(" ", 1)[0]]
            headers.append(("X-Request-ID", request_id))
            return start_response(code, headers, exc_info)

        def done() -> None:
            log_access(environ, status[0] if status else "-", started)

        try:
            body = self.wsgi_app(environ, recording_start_response)
        except BaseException:
            log_access(environ, "500", started)
            raise
        return ClosingIterator(body, done)


def log_access(environ: dict[str, Any], status: str, started: float) -> None:
    path = (
        environ.get(LOG_PATH_KEY)
        or (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""))[:200]
    )
    fields = {
        "method": environ.get("REQUEST_METHOD", "-"),
        "path": path,
        "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        "user": environ.get(USER_KEY, "-"),
        "request_id": environ.get(REQUEST_ID_KEY, "-"),
    }
    access_log.info(
        "access %s %s %s %sms user=%s",
        fields["method"],
        fields["path"],
        fields["status"],
        fields["duration_ms"],
        fields["user"],
        extra=fields,
    )
