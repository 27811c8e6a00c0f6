"""Responses that carry a drawing, its preview or viewer mesh: octet-stream, nosniff, no-store."""

from __future__ import annotations

import gzip
import logging
import unicodedata
from urllib.parse import quote as percent_encode

from flask import Response, abort, render_template, request

from ..models import Drawing, User
from ..services.alerts import UNAVAILABLE, unreadable_drawing
from ..services.quotes import drawing_files, review

log = logging.getLogger(__name__)


def content_disposition(filename: str) -> str:
    """RFC 6266 / 5987: an ASCII fallback plus filename*=UTF-8'' for names like 零件图.step."""
    fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    fallback = "".join(c if c.isprintable() and c not in '"\\;' else "_" for c in fallback)
    stem_missing = not fallback.strip(" ._") or fallback.startswith(".")
    if stem_missing:
        fallback = "drawing" + ("." + filename.rsplit(".", 1)[-1] if "." in filename else "")
        fallback = fallback.encode("ascii", "ignore").decode("ascii")
    encoded = percent_encode(filename, safe="")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def drawing_response(drawing: Drawing, viewer: User):
    """Stream the decrypted drawing; a damaged or unreadable file gets a friendly page instead.

    A staff member fetching someone else's drawing leaves an audit record first.
    """
    if viewer.id != drawing.user_id:
        review.record_staff_download(viewer, drawing)
    try:
        chunks = drawing_files.verified_download(drawing)
    except drawing_files.READ_ERRORS as exc:
        log.error("drawing.unreadable drawing=%s error=%s", drawing.id, type(exc).__name__)
        state = unreadable_drawing(drawing.id, drawing.key_id, exc)  # staff are told
        page = render_template("quotes/unreadable.html", drawing=drawing, state=state)
        if state == UNAVAILABLE:  # intact, but not readable here now: try again later
            response = Response(page, status=503, mimetype="text/html")
            response.headers["Retry-After"] = "300"
            return _private(response)
        return _private(Response(page, status=409, mimetype="text/html"))
    response = Response(chunks, mimetype="application/octet-stream", direct_passthrough=True)
    response.headers["Content-Disposition"] = content_disposition(drawing.filename)
    response.headers["Content-Length"] = str(drawing.size)
    return _private(response)


def preview_response(drawing: Drawing):
    """The part's PNG, decrypted in memory (a few tens of KB); 404 when there is none."""
    try:
        png = drawing_files.preview_bytes(drawing)
    except drawing_files.READ_ERRORS:
        abort(404)
    return _private(Response(png, mimetype="image/png"))


def mesh_response(drawing: Drawing):
    """The part's viewer mesh, stored gzipped and sent as it is with `Content-Encoding: gzip`
    (the browser inflates it); unzipped here only for a client that says it cannot."""
    try:
        mesh = drawing_files.mesh_bytes(drawing)
    except drawing_files.READ_ERRORS:
        abort(404)
    response = Response(mesh, mimetype="application/octet-stream")
    if request.accept_encodings["gzip"]:
        response.headers["Content-Encoding"] = "gzip"
    else:
        response.set_data(gzip.decompress(mesh))
    response.vary.add("Accept-Encoding")
    response.headers["Content-Disposition"] = 'attachment; filename="mesh.bin"'
    return _private(response)
