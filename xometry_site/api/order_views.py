"""Ordering in the Mini Program: accept a quote (services/quotes/acceptance.py, as the website's
accept form), the account's orders as the website's order pages show them (timeline, bank
transfer, tracking, fapiao), WeChat Pay with wx.requestPayment (services/payments/wechatpay.py:
JSAPI under the Mini Program's AppID, paid by the account's Mini Program OpenID; only the signed
notification marks the order paid) and the fapiao file. Another account's order is a 404."""

from __future__ import annotations

import functools

from flask import Response, current_app
from flask_babel import gettext as _

from ..extensions import limiter
from ..i18n import current_language
from ..orders import labels
from ..quotes.downloads import content_disposition
from ..quotes.labels import LEAD_CHOICE, QUOTE_ERROR
from ..read_only import reads_only
from ..security import no_store
from ..services import divisions
from ..services.accounts import invoicing
from ..services.orders import carriers, fulfilment, records
from ..services.orders import fapiao as fapiao_files
from ..services.payments import wechatpay
from ..services.payments.wechatpay_settings import is_configured
from ..services.quotes import acceptance, catalogue, drawing_files
from ..services.quotes.records import QuoteError
from ..services.validators import mask_phone
from .bearer import current_account
from .blueprints import orders_bp as bp
from .errors import ApiError
from .order_schemas import AcceptInSchema, OrderListSchema, OrderSchema, WeChatPaySchema
from .quote_views import _owned_quote, money_text
from .schemas import ErrorSchema

ACCEPT_FIELDS = {  # QuoteError code → the body's field it is about
    "no_address": "address_id",
    "address_needs_district": "address_id",
    "no_invoice_profile": "invoice",
    "no_expedited": "lead_time",
}


def _name(mapping: dict, code: str | None) -> str:
    return str(mapping.get(code or "", code or ""))


def listed_json(order, quote_ref: str | None) -> dict:
    return {
        "number": order.number,
        "status": order.status,
        "status_name": _name(labels.STATUS, order.status),
        "total": money_text(order.total),
        "currency": order.currency,
        "placed_at": order.created_at,
        "quote_ref": quote_ref,
    }


def _part_json(part: dict) -> dict:
    process = part.get("process")
    return {
        **{key: part.get(key) for key in ("name", "process", "material", "finish", "quantity")},
        "drawings": list(part.get("drawings") or []),
        "process_name": catalogue.catalogue_name("process", process),
        "material_name": catalogue.catalogue_name("material", part.get("material"), process),
        "finish_name": catalogue.catalogue_name("finish", part.get("finish"), process),
        "tolerance": part.get("tolerance"),
        "tolerance_name": catalogue.option_name("tolerance", part.get("tolerance")),
        "threads": part.get("threads"),
        "inspection": part.get("inspection"),
        "inspection_name": catalogue.option_name("inspection", part.get("inspection")),
        "unit_price": part.get("unit_price"),
        "line_total": part.get("line_total"),
    }


def _address_json(shipping: dict) -> dict:
    locale = current_language()
    codes = [shipping.get(k) for k in ("province", "city", "district")]
    phone = shipping.get("phone")
    return {
        **{
            key: shipping.get(key)
            for key in ("organization", "recipient", "province", "city", "district", "address")
        },
        "postal_code": shipping.get("postal_code"),
        "phone": mask_phone(phone) if phone else None,
        "region": " ".join(n for n in (divisions.name_of(c, locale) for c in codes if c) if n),
    }


def _timeline_name(event) -> str:
    if event.note:
        return _name(labels.NOTES, event.note)
    return _name(labels.TIMELINE, event.status)


def order_json(order, quote_ref: str | None = None) -> dict:
    """The order as its page on the website shows it; the copies as they were when ordered."""
    due = order.status == "awaiting_payment"
    bank = records.bank_account()
    invoice = order.invoice
    return {
        **listed_json(order, quote_ref if quote_ref is not None else records.quote_ref(order)),
        "next_step": _name(labels.NEXT_STEP, order.status),
        "subtotal": money_text(order.subtotal),
        "vat": money_text(order.vat),
        "amount_paid": money_text(order.amount_paid or 0),
        "outstanding": money_text(order.outstanding),
        "lead_time": order.lead_choice,
        "lead_time_name": _name(LEAD_CHOICE, order.lead_choice),
        "lead_days": order.lead_days,
        "timeline": [
            {"status": e.status, "note": e.note, "name": _timeline_name(e), "at": e.created_at}
            for e in order.events
        ],
        "parts": [_part_json(part) for part in order.parts],
        "bank_transfer": {
            "account_name": bank["name"],
            "bank": bank["bank"],
            "account_number": bank["number"],
            "amount": money_text(order.outstanding),
            "remittance_reference": order.remittance_reference,
        }
        if due
        else None,
        "wechat_pay": due
        and is_configured(current_app.config)
        and bool(current_app.config.get("WECHAT_MINIPROGRAM_APP_ID")),
        "shipping": {
            "carrier": order.carrier,
            "carrier_name": str(carriers.carrier_name(order.carrier)) if order.carrier else None,
            "tracking_number": order.tracking_number,
            "tracking_url": carriers.tracking_url(order.carrier, order.tracking_number),
            "ship_by": order.ship_by,
            "shipped_at": order.shipped_at,
            "delivered_at": order.delivered_at,
        },
        "fapiao": {
            "issued": order.has_fapiao,
            "number": order.fapiao_number,
            "issued_at": order.fapiao_issued_at,
        },
        "address": _address_json(order.shipping or {}),
        "invoice": {
            "kind": invoice.get("kind"),
            "fapiao_type": invoice.get("fapiao_type"),
            "fapiao_type_name": _name(labels.FAPIAO_TYPE, invoice.get("fapiao_type")) or None,
            "name": invoice.get("company_name") or invoice.get("name"),
        },
    }


def _owned_order(number: str):
    order = records.order_of(current_account(), number)
    if order is None:
        raise ApiError(404, "not_found")
    return order


def quote_owner_first(view):
    """Another account's quote is a 404 before the body is even read (never a 422)."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        _owned_quote(kwargs["ref"])
        return view(*args, **kwargs)

    return wrapped


@bp.route("/quotes/<ref>/accept", methods=["POST"])
@bp.signed_in
@quote_owner_first
@no_store
@bp.arguments(AcceptInSchema)
@bp.response(201, OrderSchema)
@bp.alt_response(404, schema=ErrorSchema, description="Not one of yours")
@bp.alt_response(409, schema=ErrorSchema, description="Not priced, or the price expired")
@bp.alt_response(422, schema=ErrorSchema, description="Address, invoice or lead time refused")
def quote_accept(body: dict, ref: str):
    """Order the quoted price: shipped to one of the account's addresses, invoiced to its saved
    invoice details, at the standard or the expedited lead time."""
    quote = _owned_quote(ref)
    user = current_account()
    if not body["invoice"]:
        raise ApiError(422, "invalid", fields={"invoice": QUOTE_ERROR["no_invoice_profile"]})
    invoice = invoicing.get_for(user)
    try:
        order = acceptance.accept_quote(
            quote, user, body["address_id"], invoice.id if invoice else 0, body["lead_time"]
        )
    except QuoteError as error:
        message = str(QUOTE_ERROR.get(error.code, error.code))
        field = ACCEPT_FIELDS.get(error.code)
        if field is None:
            raise ApiError(409, error.code, message) from None
        raise ApiError(422, "invalid", fields={field: message}) from None
    return order_json(order, quote.ref), 201


@bp.route("/orders", methods=["GET"])
@bp.signed_in
@reads_only
@no_store
@bp.response(200, OrderListSchema)
def order_list():
    """The account's orders, newest first."""
    return {"orders": [listed_json(o, ref) for o, ref in records.orders_of(current_account())]}


@bp.route("/orders/<number>", methods=["GET"])
@bp.signed_in
@reads_only
@no_store
@bp.response(200, OrderSchema)
@bp.alt_response(404, schema=ErrorSchema, description="Not one of yours")
def order_detail(number: str):
    """One order: status, timeline, parts, how to pay, shipping, fapiao, delivery address."""
    return order_json(_owned_order(number))


FAPIAO_FILE = "The fapiao file (PDF or OFD), as an attachment"
FAPIAO_CONTENT = {
    kind: {"schema": {"type": "string", "format": "binary"}}
    for kind in ("application/pdf", "application/ofd")
}
# an outage is a 503 with Retry-After; what retrying will not change is a 409
PAY_STATUS = {"unreachable": 503, "refused": 502}


def _pay_limit() -> str:
    return current_app.config["WECHATPAY_PAY_LIMIT"]


@bp.route("/orders/<number>/wechat-pay", methods=["POST"])
@bp.signed_in
@limiter.limit(_pay_limit, key_func=lambda: f"wechat-pay:{current_account().id}")
@no_store
@bp.response(200, WeChatPaySchema)
@bp.alt_response(404, schema=ErrorSchema, description="Not one of yours")
@bp.alt_response(
    409, schema=ErrorSchema, description="Nothing to pay, being confirmed, or not offered"
)
@bp.alt_response(429, schema=ErrorSchema, description="Too many payment attempts")
@bp.alt_response(502, schema=ErrorSchema, description="WeChat Pay refused the payment")
@bp.alt_response(503, schema=ErrorSchema, description="WeChat Pay not answering")
def order_wechat_pay(number: str):
    """Start paying what is due with wx.requestPayment. Its success callback proves nothing:
    the order is paid when WeChat Pay's signed notification arrives (poll GET /orders/<number>)."""
    order = _owned_order(number)
    try:
        start = wechatpay.start_payment(order, current_account(), True, miniprogram=True)
    except fulfilment.OrderError:
        raise ApiError(409, "not_payable", labels.ORDER_ERROR["not_payable"]) from None
    except wechatpay.PayError as error:
        if error.code == "no_payer":
            message = _("Please close and reopen the Mini Program, then pay again.")
        else:
            message = labels.PAY_ERROR.get(error.code, labels.PAY_ERROR["refused"])
        status = PAY_STATUS.get(error.code, 409)
        retry = str(current_app.config.get("RETRY_AFTER_SECONDS") or 30)
        headers = {"Retry-After": retry} if status == 503 else None
        raise ApiError(status, f"pay_{error.code}", message, headers=headers) from None
    params = start.jsapi or {}
    return {
        **{key: params[key] for key in ("timeStamp", "nonceStr", "package", "signType", "paySign")},
        "amount": money_text(start.amount),
    }


@bp.route("/orders/<number>/fapiao", methods=["GET"])
@bp.signed_in
@no_store
@bp.response(200, description=FAPIAO_FILE)
@bp.doc(responses={"200": {"description": FAPIAO_FILE, "content": FAPIAO_CONTENT}})
@bp.alt_response(404, schema=ErrorSchema, description="Not yours, or no fapiao issued yet")
def order_fapiao(number: str):
    """The issued e-fapiao, decrypted as it streams."""
    order = _owned_order(number)
    try:
        chunks = fapiao_files.open_fapiao(order)
    except (fulfilment.OrderError, *drawing_files.READ_ERRORS):
        raise ApiError(404, "not_found") from None
    response = Response(chunks, mimetype=fapiao_files.content_type(order.fapiao_filename))
    response.headers["Content-Disposition"] = content_disposition(order.fapiao_filename or "")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
