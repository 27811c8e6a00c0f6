"""Logging: one line per event, with a request id, newlines escaped; JSON lines in production."""

from __future__ import annotations

import logging
import uuid

from flask import Flask, g, has_request_context, request


class RequestIdFilter(logging.Filter):
    """Adds the request id and escapes newlines so one event is one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        if isinstance(record.msg, str):
            record.msg = record.msg.replace("\r", "\\r").replace("\n", "\\n")
        if record.args:
            record.args = tuple(
                a.replace("\r", "\\r").replace("\n", "\\n") if isinstance(a, str) else a
                for a in (record.args if isinstance(record.args, tuple) else (record.args,))
            )
        return True


def configure_logging(app: Flask) -> None:
    handler = logging.StreamHandler()
    if app.config.get("LOG_JSON"):
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
                rename_fields={"levelname": "level", "asctime": "time"},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
        )
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger("xometry_site")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = app.testing  # let pytest's caplog see the lines in tests

    @app.before_request
    def assign_request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        ok = incoming and len(incoming) <= 64 and incoming.replace("-", "").isalnum()
        g.request_id = incoming if ok else uuid.uuid4().hex

    @app.after_request
    def echo_request_id(response):
        response.headers.setdefault("X-Request-ID", g.get("request_id", ""))
        return response
