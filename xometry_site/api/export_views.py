"""A copy of my data (policy 5.1) from the Mini Program: the website's job (RQ on Redis, else
inline), the website's limit, and the ZIP streamed decrypted to its owner only."""

from __future__ import annotations

from flask import Response, stream_with_context
from flask_babel import gettext as _

from ..extensions import limiter
from ..i18n import current_language
from ..models.base import utcnow
from ..security import no_store
from ..services.privacy import export as exports
from .bearer import current_account
from .blueprints import rights_bp as bp
from .center_schemas import ExportSchema
from .errors import ApiError
from .schemas import ErrorSchema


def _status(export) -> str:
    """The model's status, with a ready copy past its 7 days called expired."""
    if export.status == "ready" and (export.expires_at is None or export.expires_at <= utcnow()):
        return "expired"
    return export.status


def _status_name(status: str) -> str:
    return {
        "ready": _("Ready to download"),
        "failed": _("Failed — please ask again"),
        "expired": _("Expired — please ask again"),
    }.get(status) or _("Being prepared")


def export_json(export) -> dict:
    status = _status(export)
    return {
        "id": export.public_id,
        "status": status,
        "status_name": _status_name(status),
        "created_at": export.requested_at,
        "ready_at": export.ready_at,
        "expires_at": export.expires_at,
        "size": export.size,
        "drawing_count": export.drawing_count,
        "transfer": export.is_transfer,
        "downloadable": status == "ready" and not export.is_transfer,
    }


def _owned(public_id: str):
    export = exports.owned(current_account(), public_id)
    if export is None:
        raise ApiError(404, "not_found")
    return export


def _per_account() -> str:
    """The website's key: copies asked for on both channels count together."""
    return f"privacy-export:{current_account().id}"


@bp.route("/exports", methods=["POST"])
@bp.signed_in
@limiter.shared_limit("10 per day", scope="privacy-export", key_func=_per_account)
@no_store
@bp.response(202, ExportSchema)
@bp.alt_response(429, schema=ErrorSchema, description="Ten copies a day at most")
def export_create():
    """Ask for a copy; one still being built is answered instead of a second one."""
    return export_json(exports.request_export(current_account(), current_language()))


@bp.route("/exports", methods=["GET"])
@bp.signed_in
@no_store
@bp.response(200, ExportSchema(many=True))
def export_list():
    """The account's copies, newest first."""
    return [export_json(e) for e in exports.list_for(current_account())]


@bp.route("/exports/<export_id>", methods=["GET"])
@bp.signed_in
@no_store
@bp.response(200, ExportSchema)
@bp.alt_response(404, schema=ErrorSchema, description="Not one of yours")
def export_show(export_id: str):
    """One copy's state (poll it after asking)."""
    return export_json(_owned(export_id))


@bp.route("/exports/<export_id>/download", methods=["GET"])
@bp.signed_in
@no_store
@bp.response(
    200,
    {"type": "string", "format": "binary"},
    content_type="application/zip",
    description="The ZIP: data.json, README.txt and the drawings",
)
@bp.alt_response(404, schema=ErrorSchema, description="Not yours, expired, failed or a transfer")
@bp.alt_response(409, schema=ErrorSchema, description="still_building: ask again shortly")
def export_download(export_id: str):
    """The ZIP, decrypted as it streams, for its owner while it is kept (7 days)."""
    export = _owned(export_id)
    if export.status in ("pending", "building"):
        raise ApiError(
            409,
            "still_building",
            _("The copy is still being prepared. Please try again in a minute."),
            headers={"Retry-After": "30"},
        )
    export = exports.get_for_owner(current_account(), export_id)
    if export is None:
        raise ApiError(404, "not_found")
    chunks = exports.open_archive(export)
    name = f"xometry-data-{export.ready_at:%Y%m%d}.zip"
    response = Response(stream_with_context(chunks), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Content-Length"] = str(export.size)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
