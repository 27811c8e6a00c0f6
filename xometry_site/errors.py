"""Error pages in the visitor's language; nothing internal is ever shown."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from functools import lru_cache

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .log_setup import tracebacks
from .services.languages import in_language

log = logging.getLogger(__name__)

MESSAGES = {
    400: (
        _l("Bad request"),
        _l("Something in your request was not right. Please go back and try again."),
    ),
    403: (_l("Forbidden"), _l("You do not have permission to open this page.")),
    404: (
        _l("Page not found"),
        _l("The page you asked for does not exist or is no longer available."),
    ),
    405: (_l("Not allowed"), _l("This page cannot be used that way.")),
    413: (
        _l("File too large"),
        _l(
            "What you sent is larger than we accept. Nothing was stored. Please send smaller files."
        ),
    ),
    429: (
        _l("Too many attempts"),
        _l("You have tried this too often. Please wait a few minutes and try again."),
    ),
    500: (
        _l("Something went wrong"),
        _l("An error occurred on our side. It has been logged; please try again later."),
    ),
    503: (
        _l("Temporarily unavailable"),
        _l(
            "This page cannot be shown right now because part of our service is not answering. "
            "Nothing you saved is lost. Please try again in a minute."
        ),
    ),
}
CSRF_MESSAGE = _l(
    "Your form expired or was sent from another site. Please reload the page and try again."
)


def render_error(code: int, message=None):
    title, default = MESSAGES.get(code, MESSAGES[500])
    if request.path == "/healthz" or request.accept_mimetypes.best == "application/json":
        return jsonify(error=str(title)), code
    return render_template(
        "errors/error.html", code=code, title=title, message=message or default
    ), code


def register(app: Flask) -> None:
    from .api import errors as api_errors

    app.register_error_handler(api_errors.ApiError, api_errors.api_error)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        log.warning("security.csrf_rejected path=%s", request.path)
        return render_error(400, CSRF_MESSAGE)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = error.code or 500
        if code == 429:
            log.warning("security.rate_limited path=%s", request.path)
            return _with_retry_after(_error_answer(error, code))
        return _error_answer(error, code)

    def _error_answer(error: HTTPException, code: int):
        if api_errors.is_api_request():  # JSON in the API's shape, whatever raised it
            if code >= 500 and code != 503:
                log.error("error.http path=%s status=%s", request.path, code)
            return api_errors.http_error(error)
        if code == 503:
            return render_unavailable()
        if code >= 500:
            return render_server_error()
        return render_error(code if code in MESSAGES else 400)

    def _with_retry_after(answer):
        """A refused request is told when its window ends (Flask-Limiter's `current_limit`, one
        read of the limit's storage, only when a request is refused)."""
        from .extensions import limiter

        response = current_app.make_response(answer)
        with contextlib.suppress(Exception):  # no header rather than no answer
            limit = limiter.current_limit
            if limit is not None:
                seconds = max(1, math.ceil(limit.reset_at - time.time()))
                response.headers["Retry-After"] = str(seconds)
        return response

    @app.errorhandler(Exception)
    def unhandled(error: Exception):
        if isinstance(error, unavailable_errors()):
            tracebacks.log(log, logging.ERROR, error, "error.unavailable path=%s", request.path)
            return render_unavailable()
        log.exception("error.unhandled path=%s", request.path)
        return render_server_error()

    @app.teardown_appcontext
    def close_session(_error: BaseException | None) -> None:
        """Runs before Flask-SQLAlchemy's own: a connection the database dropped cannot roll back,
        and that must not turn the page already rendered into the server's bare 500."""
        from .extensions import db

        registry = db.session.registry
        if not registry.has():  # this request never used the database (pages from the cache)
            return
        try:
            db.session.remove()
        except Exception as error:  # during an outage: once per request, the traceback seldom
            tracebacks.log(log, logging.WARNING, error, "db.session_close_failed")
        finally:
            registry.clear()


@lru_cache(maxsize=1)
def unavailable_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean a dependency is down or too slow, not a bug: the visitor gets 503."""
    from botocore.exceptions import ConnectionError as StorageConnectionError
    from botocore.exceptions import ReadTimeoutError as StorageReadTimeout
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeout
    from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from .deadlines import DeadlineExceeded

    return (
        OperationalError,  # connection refused or lost, connect_timeout, statement_timeout
        InterfaceError,
        DisconnectionError,
        PoolTimeout,  # every pooled connection busy for DB_POOL_TIMEOUT
        RedisConnectionError,
        RedisTimeout,
        StorageConnectionError,  # connect timeout, endpoint unreachable
        StorageReadTimeout,
        DeadlineExceeded,
    )


def render_unavailable() -> Response:
    """503 with Retry-After, in the visitor's language, without touching the database (the page
    neither loads the account nor runs the context processors that would)."""
    from .api import errors as api_errors
    from .i18n import html_lang, language_without_account

    if api_errors.is_api_request():
        return api_errors.unavailable()
    seconds = str(current_app.config.get("RETRY_AFTER_SECONDS") or 30)
    headers = {"Retry-After": seconds, "Cache-Control": "no-store"}
    lang = language_without_account()
    with in_language(lang):
        title, message = MESSAGES[503]
        if request.path == "/healthz" or request.accept_mimetypes.best == "application/json":
            response = jsonify(error=str(title))
        else:
            template = current_app.jinja_env.get_template("errors/unavailable.html")
            body = template.render(code=503, title=title, message=message, lang=html_lang(lang))
            response = Response(body, mimetype="text/html")
    response.status_code = 503
    response.headers.update(headers)
    return response


def render_server_error():
    """The 500 page even when the database failed: a fresh transaction, else a page without it."""
    from .api import errors as api_errors
    from .extensions import db

    if api_errors.is_api_request():
        with contextlib.suppress(Exception):  # the database may be what failed
            db.session.rollback()
        return api_errors.server_error()
    try:
        db.session.rollback()  # the page itself may query (signed-in user, consents)
        return render_error(500)
    except Exception:  # the database is unreachable: answer at once, never hang or crash
        log.exception("error.page_failed path=%s", request.path)
        return plain_error_page(500)


def plain_error_page(code: int):
    """Both languages, no template and no database: the last resort."""
    from markupsafe import escape

    parts = []
    for locale in ("zh_CN", "en"):
        with in_language(locale):
            title, message = MESSAGES[code]
            parts.append(f"<h1>{escape(str(title))}</h1><p>{escape(str(message))}</p>")
    body = '<!doctype html><meta charset="utf-8"><title>Xometry Asia</title>' + "".join(parts)
    return body, code, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
