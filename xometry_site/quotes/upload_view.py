"""POST /quotes/new: the multipart body is streamed into encrypted storage by services.uploads.

Order of checks: signed in and verified (decorator) → Content-Length within MAX_CONTENT_LENGTH
(Werkzeug, 413) → the first file's extension → the CSRF token and the form, validated once with
the fields sent before the first file (so a bad form stores nothing; fields after the files are
refused) → per file: size while streaming, leading bytes → the quote row. Every refusal leaves
no row and no blob: `UploadReceiver` destroys the request's blobs on any exception, a failed
commit of the quote included.

A refusal is answered at once, without reading the rest of the body (a 2 GB upload whose first
file is too large is refused after that file's first 100 MB, not after 2 GB), and the connection
ends after the answer so the unread bytes are never taken for a next request: see
`EndsConnection` for how each server does that.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Iterable, Iterator
from types import SimpleNamespace
from typing import Any

from flask import Response, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf, validate_csrf
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import ClosingIterator
from wtforms import ValidationError

from ..errors import CSRF_MESSAGE, render_error
from ..services.keyring import get_keyring
from ..services.quotes import catalogue, creation
from ..services.quotes.file_types import ACCEPT_ATTRIBUTE, FORMATS
from ..services.quotes.uploads import UploadLimits, UploadReceiver, UploadRefused
from ..services.storage import get_storage
from .forms import QuoteForm
from .labels import UPLOAD_REFUSAL


def wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def build_form(fields: dict[str, str] | None = None) -> QuoteForm:
    """The form with the catalogue's choices, bound to streamed fields when given."""
    formdata = MultiDict(fields) if fields is not None else None
    form = QuoteForm(formdata=formdata)
    choices = catalogue.form_choices()
    form.process_.choices = choices["process"]
    form.material.choices = choices["material"]
    form.finish.choices = choices["finish"]
    return form


def validate_form(form: QuoteForm) -> bool:
    """Field validators, then whether material and finish belong to the chosen process."""
    if not form.validate():
        return False
    if not (form.process_.data or form.material.data or form.finish.data):
        return True  # every option from the rules' defaults
    defaults = creation.QuoteRequest(
        process=form.process_.data or None, material=form.material.data or None
    ).with_defaults()
    problem = catalogue.combination_error(
        defaults.process or "", defaults.material or "", form.finish.data or None
    )
    if problem == "material":
        form.material.errors.append(_("This material is not offered for the chosen process."))
    elif problem == "finish":
        form.finish.errors.append(_("This finish is not offered for this process and material."))
    elif problem:
        form.process_.errors.append(_("Please choose a process."))
    return problem is None


def upload_page(form: QuoteForm | None = None, errors: list[str] | None = None, status: int = 200):
    return render_template(
        "quotes/new.html",
        form=form or build_form(),
        errors=errors or [],
        upload=upload_context(),
        compact=False,
    ), status


def upload_context() -> SimpleNamespace:
    """What the upload form needs, on /quotes/new and on a signed-in customer's home page."""
    limits = limits_from_config()
    return SimpleNamespace(
        accept=ACCEPT_ATTRIBUTE,
        extensions=sorted(FORMATS),
        max_file_size=limits.max_file_size,
        max_files=limits.max_files,
        max_file_mb=_megabytes(limits.max_file_size),
        csrf_token_value=generate_csrf(),
        combinations=catalogue.material_combinations(),
        defaults=creation.QuoteRequest().with_defaults(),
    )


def limits_from_config() -> UploadLimits:
    config = current_app.config
    return UploadLimits(
        max_file_size=int(config["UPLOAD_MAX_FILE_SIZE"]),
        max_files=int(config["UPLOAD_MAX_FILES"]),
        max_form_memory=int(config.get("MAX_FORM_MEMORY_SIZE") or 512 * 1024),
        max_parts=int(config.get("MAX_FORM_PARTS") or 200),
    )


def _megabytes(size: int) -> str:
    return format_decimal(size / (1024 * 1024), format="#,##0.#") + " MB"


def _csrf_valid(token: str | None) -> bool:
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return True
    try:
        validate_csrf(token)
    except ValidationError:
        return False
    return True


def receive_quote():
    try:
        stream = request.stream
    except RequestEntityTooLarge:  # Content-Length over MAX_CONTENT_LENGTH: not a byte read
        return _ends_connection(render_error(413))
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        with UploadReceiver(
            stream,
            request.headers,
            get_storage(app),
            get_keyring(app),
            limits_from_config(),
            read_ahead=bool(current_app.config.get("UPLOAD_READ_AHEAD", True)),
        ) as upload:
            response = _receive(upload)
            if upload.body_read:
                return response
    except UploadRefused as exc:
        response = _refused(exc)
    except RequestEntityTooLarge:  # a chunked body past MAX_CONTENT_LENGTH
        response = render_error(413)
    return _ends_connection(response)


def _receive(upload: UploadReceiver):
    """The form checked once, before any drawing is stored; then the files and the quote."""
    fields = upload.read_fields()
    if not _csrf_valid(fields.get("csrf_token")):
        current_app.logger.warning("security.csrf_rejected path=%s", request.path)
        return _error_response(400, str(CSRF_MESSAGE))
    form = build_form(fields)
    if not validate_form(form):
        return _invalid(form, [])
    received = upload.read_files()
    if not received.files:
        return _invalid(form, [str(UPLOAD_REFUSAL["no_files"])])
    request_data = creation.QuoteRequest(
        process=form.process_.data or None,
        material=form.material.data or None,
        finish=form.finish.data or None,
        quantity=int(form.quantity.data) if form.quantity.data else None,
        notes=form.notes.data,
    )
    quote = creation.create_quote(current_user, request_data, received.files)
    upload.kept()
    url = url_for("quotes.detail", ref=quote.ref)
    if wants_json():
        return jsonify(redirect=url), 201
    return redirect(url, code=303)


def refusal_message(exc: UploadRefused) -> str:
    template = UPLOAD_REFUSAL.get(exc.code, UPLOAD_REFUSAL["malformed"])
    limit = exc.limit
    limit_text = _megabytes(limit) if exc.code == "file_too_large" and limit else str(limit or "")
    return str(template) % {"name": exc.filename or "", "limit": limit_text}


def _refused(exc: UploadRefused):
    message = refusal_message(exc)
    current_app.logger.info("quote.upload_refused code=%s", exc.code)
    if exc.status == 413:
        return _error_response(413, message)
    form = build_form(getattr(exc, "fields", None) or {})
    return _invalid(form, [message], validate=False)


def _invalid(form: QuoteForm, errors: list[str], validate: bool = True):
    if wants_json():
        messages = list(errors)
        for field in form:
            messages.extend(f"{field.label.text}: {e}" for e in field.errors)
        return jsonify(errors=messages or [str(UPLOAD_REFUSAL["malformed"])]), 400
    return upload_page(form, errors, status=400)


def _error_response(status: int, message: str):
    if wants_json():
        return jsonify(errors=[message]), status
    return render_error(status, message)


def _ends_connection(answer) -> Response:
    """`answer`, after which the connection ends: what is left of the body is never read."""
    return EndsConnection.force_type(current_app.make_response(answer))


class EndsConnection(Response):
    """An answer sent before the request body was read to its end; the connection ends after it.

    gunicorn's gthread worker needs nothing: after the answer it reads at most 64 KB (or 5 s) of
    an unread body, then closes the connection (its header still says keep-alive: WSGI forbids
    an app to set `Connection`, and gunicorn drops it). Werkzeug's development server would read
    and drop everything the client still sends (up to 10 GB) before closing, so there the view
    ends the connection once the answer's last byte is written, on the socket that server puts
    in the environ (`werkzeug.socket`) for taking a connection over.
    """

    def get_app_iter(self, environ: dict[str, Any]) -> Iterable[bytes]:
        body = super().get_app_iter(environ)
        connection = environ.get("werkzeug.socket")
        if connection is None:
            return body
        return ClosingIterator(_then_shut_down(body, connection), getattr(body, "close", None))


def _then_shut_down(body: Iterable[bytes], connection: socket.socket) -> Iterator[bytes]:
    """The answer's bytes (the server asks for the next block only once the previous one is
    sent, PEP 3333), then the end of the connection: a FIN after the answer; reading shut, so the
    server's drain finds the body at its end; and a reset when the server closes the socket. The
    reset makes a browser that is still sending stop and read the answer: a plain close left a
    zero receive window behind, and the browser waiting on it for a minute."""
    yield from body
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_WR)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.shutdown(socket.SHUT_RD)
