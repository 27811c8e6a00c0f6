"""Quotes in the Mini Program: the list, one quote with each part's live price and DFM findings
(services/quotes/part_quote.py, the one pricing home), and the upload of one drawing per request
as `wx.uploadFile` sends it — streamed and encrypted by services/quotes/uploads.py, as on the
website, with the website's limits."""

from __future__ import annotations

from decimal import Decimal

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..extensions import limiter
from ..privacy.presenters import code_name
from ..quotes.labels import STATUS, review_reason
from ..quotes.upload_view import EndsConnection, limits_from_config, refusal_message
from ..read_only import reads_only
from ..security import no_store
from ..services.keyring import get_keyring
from ..services.quotes import creation, part_quote, pricing, records
from ..services.quotes.uploads import UploadLimits, UploadReceiver, UploadRefused, renamed
from ..services.storage import get_storage
from .bearer import configured, current_account
from .blueprints import quotes_bp as bp
from .errors import ApiError, error_response
from .schemas import ErrorSchema, QuoteListSchema, QuoteSchema


def money_text(value: Decimal | int | None) -> str | None:
    """Money in the API: a decimal string with two places (None stays None)."""
    return None if value is None else str(records.money(value))


@bp.route("/quotes", methods=["GET"])
@bp.signed_in
@reads_only
@no_store
@bp.response(200, QuoteListSchema)
def quote_list():
    """The account's quotes, newest first (a lapsed price shows as expired)."""
    rows = records.quotes_of(current_account())
    # each name translated once per list, not once per row
    statuses = {s: str(STATUS.get(s, s)) for s in {row.status for row in rows}}
    processes = {p: code_name("process", p) for p in {row.process for row in rows}}
    return {
        "quotes": [
            {
                "ref": row.ref,
                "status": row.status,
                "status_name": statuses[row.status],
                "process": row.process,
                "process_name": processes[row.process],
                "part_count": row.part_count,
                "created_at": row.created_at,
                "total": money_text(row.shown_total),
                "currency": "CNY",
                "valid_until": row.valid_until,
            }
            for row in rows
        ]
    }


def _price(result: part_quote.PartQuote) -> dict:
    """The website's live price shape (route contract), money as decimal strings."""
    body = {
        "instant": result.instant,
        "unit_price": None,
        "total": None,
        "currency": "CNY",
        "lead_days": {"standard": None, "expedited": None},
        "breaks": [],
        "dfm": [
            {"code": f.code, "severity": f.severity, "message": str(f.message)}
            for f in result.findings
        ],
        "review_reason": result.review_reason,
        "review_message": None if result.instant else str(review_reason(result.review_reason)),
    }
    if result.instant and result.standard and result.expedited:
        body.update(
            unit_price=str(result.standard.unit_price),
            total=str(result.standard.subtotal),
            lead_days={
                "standard": result.standard.lead_days_standard,
                "expedited": result.expedited.lead_days_expedited,
            },
            breaks=[{"quantity": q, "unit_price": str(u)} for q, u in result.breaks],
        )
    return body


def _owned_quote(ref: str):
    """The account's own quote; anyone else's (staff included, here) is a 404."""
    quote = records.quote_for(current_account(), ref, as_staff=False)  # no staff over the API
    if quote is None or quote.user_id != current_account().id:
        raise ApiError(404, "not_found")
    return quote


def quote_json(quote) -> dict:
    rules = pricing.load_rules()
    measured = quote.status != "analysing"
    parts = []
    for part in quote.parts:
        options = part_quote.options_of(part, quote)
        result = part_quote.quote_part(part, options, quote.notes, rules) if measured else None
        parts.append(
            {
                "id": part.id,
                "filename": part.filename,
                "analysis_status": part.analysis_status,
                "options": options.as_dict(),
                "price": _price(result) if result is not None else None,
            }
        )
    return {
        "ref": quote.ref,
        "status": quote.status,
        "status_name": str(STATUS.get(quote.status, quote.status)),
        "process": quote.process,
        "process_name": code_name("process", quote.process),
        "material": quote.material,
        "quantity": quote.quantity,
        "notes": quote.notes,
        "part_count": len(quote.parts),
        "created_at": quote.created_at,
        "total": money_text(
            quote.ordered_total if quote.ordered_total is not None else quote.total
        ),
        "subtotal": money_text(quote.subtotal),
        "vat": money_text(quote.vat),
        "currency": "CNY",
        "valid_until": quote.valid_until,
        "parts": parts,
    }


@bp.route("/quotes/<ref>", methods=["GET"])
@bp.signed_in
@reads_only
@no_store
@bp.response(200, QuoteSchema)
@bp.alt_response(404, schema=ErrorSchema, description="Not one of yours")
def quote_detail(ref: str):
    """One quote: status, total, and each part with its options, live price and DFM findings."""
    return quote_json(_owned_quote(ref))


UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": {
                            "type": "string",
                            "format": "binary",
                            "description": "One drawing (wx.uploadFile with name: 'files')",
                        },
                        "filename": {
                            "type": "string",
                            "maxLength": 255,
                            "description": (
                                "The name the person chose (wx.chooseMessageFile's name), sent "
                                "before the file in formData; kept when it has the file's type"
                            ),
                        },
                    },
                }
            }
        },
    }
}


def _api_limits() -> UploadLimits:
    """The website's limits, one file per request."""
    limits = limits_from_config()
    return UploadLimits(
        max_file_size=limits.max_file_size,
        max_files=1,
        max_form_memory=limits.max_form_memory,
        max_parts=limits.max_parts,
    )


@bp.route("/quotes", methods=["POST"])
@bp.signed_in
@limiter.limit(
    configured("API_UPLOAD_LIMIT"), key_func=lambda: f"api-upload:{current_account().id}"
)
@no_store
@bp.doc(**UPLOAD_DOC)
@bp.response(201, QuoteSchema)
@bp.alt_response(400, schema=ErrorSchema, description="No file, or a type we cannot read")
@bp.alt_response(413, schema=ErrorSchema, description="Larger than the upload limit")
@bp.alt_response(429, schema=ErrorSchema, description="Too many uploads")
def quote_upload():
    """A new quote from one drawing, streamed into encrypted storage as it arrives."""
    try:
        stream = request.stream
    except RequestEntityTooLarge:
        return _ends_connection(error_response(413, "too_large"))
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        with UploadReceiver(
            stream,
            request.headers,
            get_storage(app),
            get_keyring(app),
            _api_limits(),
            read_ahead=bool(app.config.get("UPLOAD_READ_AHEAD", True)),
        ) as upload:
            fields = upload.read_fields()
            received = upload.read_files()
            if not received.files:
                raise ApiError(400, "no_file")
            files = [renamed(file, fields.get("filename")) for file in received.files]
            quote = creation.create_quote(current_account(), creation.QuoteRequest(), files)
            upload.kept()
            finished = upload.body_read
    except UploadRefused as refused:
        current_app.logger.info("quote.upload_refused code=%s channel=api", refused.code)
        status = refused.status
        code = "too_large" if status == 413 else f"upload_{refused.code}"
        return _ends_connection(error_response(status, code, refusal_message(refused)))
    except RequestEntityTooLarge:
        return _ends_connection(error_response(413, "too_large"))
    answer = quote_json(quote), 201
    return answer if finished else _ends_connection(current_app.make_response(answer))


def _ends_connection(response):
    """As the website's upload: a refusal is answered at once and the connection ends."""
    return EndsConnection.force_type(response)
