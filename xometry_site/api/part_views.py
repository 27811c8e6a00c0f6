"""One part of a quote in the Mini Program: its live price for options not yet saved, and saving
its options (which reprices the quote) — the website's part form and price endpoint, the same
validation (quotes/part_forms.py) and the same services (part_quote.live_price, parts.save_options)."""

from __future__ import annotations

import functools

from flask import current_app
from werkzeug.datastructures import MultiDict

from ..extensions import limiter
from ..quotes.forms import PartForm
from ..quotes.labels import QUOTE_ERROR, review_reason
from ..quotes.part_forms import part_form_for, part_options
from ..security import no_store
from ..services.quotes import catalogue, part_quote, parts, records
from .bearer import current_account
from .blueprints import quotes_bp as bp
from .errors import ApiError
from .order_schemas import LivePriceSchema, PartOptionsInSchema, PartOptionsQuerySchema
from .quote_views import _owned_quote, quote_json
from .schemas import ErrorSchema, QuoteSchema

OPTION_NAMES = ("process", "material", "finish", "quantity", "tolerance", "threads", "inspection")


def _owned_part(ref: str, part_id: int):
    """A part of the account's own quote (never a 2D drawing attached to one); else 404."""
    quote = _owned_quote(ref)
    part = next((p for p in quote.parts if p.id == part_id), None)
    if part is None:
        raise ApiError(404, "not_found")
    return quote, part


def owner_first(view):
    """Another account's part is a 404 before its options are even read (never a 422)."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        _owned_part(kwargs["ref"], kwargs["part_id"])
        return view(*args, **kwargs)

    return wrapped


def _checked_options(quote, part, given: dict) -> part_quote.PartOptions:
    """The saved options with the given ones over them, checked by the website's part form."""
    values = part_quote.options_of(part, quote).as_dict()
    values.update({k: v for k, v in given.items() if k in OPTION_NAMES and v is not None})
    formdata = MultiDict({k: str(v) for k, v in values.items()})
    form = part_form_for(quote, part, PartForm(formdata=formdata, meta={"csrf": False}))
    if not form.validate():
        fields = {f.name: " ".join(str(e) for e in f.errors) for f in form if f.errors}
        raise ApiError(422, "invalid", fields=fields)
    return part_options(form)


def _price_limit() -> str:
    return current_app.config["PART_PRICE_LIMIT"]


@bp.route("/quotes/<ref>/parts/<int:part_id>/price", methods=["GET"])
@bp.signed_in
@owner_first
@limiter.limit(_price_limit, key_func=lambda: f"part-price:{current_account().id}")
@no_store
@bp.arguments(PartOptionsQuerySchema, location="query")
@bp.response(200, LivePriceSchema)
@bp.alt_response(404, schema=ErrorSchema, description="Not one of yours")
@bp.alt_response(422, schema=ErrorSchema, description="An option is not offered")
@bp.alt_response(429, schema=ErrorSchema, description="Too many prices asked")
def part_price(query: dict, ref: str, part_id: int):
    """What the part would cost with these options (the others as saved); nothing is saved."""
    quote, part = _owned_part(ref, part_id)
    result = part_quote.quote_part(part, _checked_options(quote, part, query), notes=quote.notes)
    body = part_quote.live_price(quote, part, result)
    if body["review"] is not None:
        body["review"]["message"] = str(review_reason(result.review_reason))
    return body


def _refused(error: records.QuoteError, options: part_quote.PartOptions) -> ApiError:
    message = str(QUOTE_ERROR.get(error.code, error.code))
    if error.code == "bad_combination":
        field = catalogue.combination_error(options.process, options.material, options.finish)
        return ApiError(422, "invalid", fields={field or "material": message})
    if error.code == "message_too_long":
        return ApiError(422, "invalid", fields={"notes": message})
    return ApiError(409, error.code, message)


@bp.route("/quotes/<ref>/parts/<int:part_id>", methods=["PUT"])
@bp.signed_in
@owner_first
@no_store
@bp.arguments(PartOptionsInSchema)
@bp.response(200, QuoteSchema)
@bp.alt_response(404, schema=ErrorSchema, description="Not one of yours")
@bp.alt_response(409, schema=ErrorSchema, description="The quote can no longer be changed")
@bp.alt_response(422, schema=ErrorSchema, description="An option is not offered")
def part_save(body: dict, ref: str, part_id: int):
    """Save the part's options (those left out stay as they are) and answer the quote repriced:
    instant parts at once; an option an engineer must check sends the quote to review."""
    quote, part = _owned_part(ref, part_id)
    options = _checked_options(quote, part, body)
    try:
        parts.save_options(quote, part, options, current_account(), notes=body.get("notes"))
    except records.QuoteError as error:
        raise _refused(error, options) from None
    return quote_json(quote)
