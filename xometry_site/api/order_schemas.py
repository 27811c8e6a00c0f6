"""Request and answer bodies of the catalogue, part options, ordering and payment (marshmallow,
documented by flask-smorest). Money as decimal strings (CNY, two decimals); every `*_name` in
the caller's language next to its code."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from .schemas import FIELD_MESSAGES, BreakSchema, FindingSchema, InputSchema, LeadDaysSchema, text

MONEY = {"description": "CNY, decimal string with two decimals"}


def count(**kw) -> fields.Integer:
    return fields.Integer(strict=False, error_messages=FIELD_MESSAGES, **kw)


# --- catalogue ----------------------------------------------------------------------------------


class NamedSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True, metadata={"description": "In the caller's language"})


class FinishSchema(NamedSchema):
    materials = fields.List(
        fields.String(),
        allow_none=True,
        metadata={"description": "The only materials it is offered for; null: any"},
    )


class ProcessSchema(NamedSchema):
    instant = fields.Boolean(
        required=True, metadata={"description": "False: always quoted by an engineer"}
    )
    lead_days = fields.Nested(LeadDaysSchema, required=True)
    materials = fields.List(fields.Nested(NamedSchema), required=True)
    finishes = fields.List(fields.Nested(FinishSchema), required=True)


class ToleranceSchema(NamedSchema):
    review = fields.Boolean(required=True, metadata={"description": "Sends the part to review"})


class ThreadsSchema(Schema):
    name = fields.String(required=True)
    min = fields.Integer(required=True)
    max = fields.Integer(required=True)
    instant_max = fields.Integer(
        allow_none=True, metadata={"description": "More tapped holes go to an engineer"}
    )


class DefaultsSchema(Schema):
    process = fields.String()
    material = fields.String()
    quantity = fields.Integer()


class CatalogueSchema(Schema):
    processes = fields.List(fields.Nested(ProcessSchema), required=True)
    tolerances = fields.List(fields.Nested(ToleranceSchema), required=True)
    threads = fields.Nested(ThreadsSchema, required=True)
    inspections = fields.List(fields.Nested(NamedSchema), required=True)
    lead_times = fields.List(fields.Nested(NamedSchema), required=True)
    defaults = fields.Nested(DefaultsSchema, required=True)


# --- a part's options and live price ------------------------------------------------------------


class PartOptionsQuerySchema(InputSchema):
    """The options to price with; one left out is the part's saved one."""

    process = text(max_length=40)
    material = text(max_length=40)
    finish = text(max_length=40)
    quantity = count(metadata={"description": "1 to 100000"})
    tolerance = text(max_length=40, metadata={"description": "iso2768m, iso2768f or custom"})
    threads = count(metadata={"description": "Tapped holes, 0 to 1000"})
    inspection = text(max_length=40, metadata={"description": "standard, coc or cmm"})


class PartOptionsInSchema(PartOptionsQuerySchema):
    notes = text(
        max_length=2000,
        allow_none=True,
        metadata={"description": "The quote's notes for the engineer (pricing reads them)"},
    )


class ReviewSchema(Schema):
    code = fields.String(allow_none=True, metadata={"description": "Why an engineer prices it"})
    field = fields.String(allow_none=True, metadata={"description": "The control that caused it"})
    message = fields.String(required=True)


class QuoteTotalsSchema(Schema):
    subtotal = fields.String(required=True, metadata=MONEY)
    vat = fields.String(required=True, metadata=MONEY)
    total = fields.String(required=True, metadata=MONEY)
    complete = fields.Boolean(
        required=True, metadata={"description": "False: some part waits for an engineer"}
    )


class LivePriceSchema(Schema):
    instant = fields.Boolean(required=True)
    unit_price = fields.String(allow_none=True, metadata=MONEY)
    total = fields.String(allow_none=True, metadata=MONEY)
    currency = fields.String(required=True)
    lead_days = fields.Nested(LeadDaysSchema, required=True)
    breaks = fields.List(fields.Nested(BreakSchema), required=True)
    dfm = fields.List(fields.Nested(FindingSchema), required=True)
    review = fields.Nested(ReviewSchema, allow_none=True)
    quote = fields.Nested(
        QuoteTotalsSchema,
        required=True,
        metadata={"description": "The quote's totals were the part saved with these options"},
    )


# --- accepting a quote --------------------------------------------------------------------------


class AcceptInSchema(InputSchema):
    lead_time = fields.String(
        load_default="standard",
        validate=validate.OneOf(("standard", "expedited"), error=_l("Please choose a lead time.")),
        error_messages=FIELD_MESSAGES,
        metadata={"description": "standard or expedited (see GET /catalogue)"},
    )
    address_id = count(
        required=True,
        validate=validate.Range(min=1, max=2**31 - 1, error=_l("This value is not valid.")),
        metadata={"description": "One of GET /addresses"},
    )
    invoice = fields.Boolean(
        load_default=True,
        error_messages=FIELD_MESSAGES,
        metadata={
            "description": "Invoice to the saved invoice details (GET /invoice); an order is "
            "always invoiced, so false is refused as on the website"
        },
    )


# --- orders -------------------------------------------------------------------------------------


class ListedOrderSchema(Schema):
    number = fields.String(required=True, metadata={"description": "XA-<year>-<6 digits>"})
    status = fields.String(required=True)
    status_name = fields.String(required=True)
    total = fields.String(required=True, metadata=MONEY)
    currency = fields.String(required=True)
    placed_at = fields.DateTime(required=True)
    quote_ref = fields.String(allow_none=True)


class OrderListSchema(Schema):
    orders = fields.List(fields.Nested(ListedOrderSchema), required=True)


class TimelineEventSchema(Schema):
    status = fields.String(required=True)
    note = fields.String(allow_none=True)
    name = fields.String(required=True, metadata={"description": "What happened"})
    at = fields.DateTime(required=True)


class OrderedPartSchema(Schema):
    name = fields.String(required=True, metadata={"description": "The drawing's file name"})
    drawings = fields.List(fields.String(), required=True)
    process = fields.String(required=True)
    process_name = fields.String(required=True)
    material = fields.String(required=True)
    material_name = fields.String(required=True)
    finish = fields.String(allow_none=True)
    finish_name = fields.String(required=True)
    quantity = fields.Integer(required=True)
    tolerance = fields.String(allow_none=True)
    tolerance_name = fields.String(required=True)
    threads = fields.Integer(allow_none=True)
    inspection = fields.String(allow_none=True)
    inspection_name = fields.String(required=True)
    unit_price = fields.String(allow_none=True, metadata=MONEY)
    line_total = fields.String(allow_none=True, metadata=MONEY)


class BankTransferSchema(Schema):
    account_name = fields.String(required=True)
    bank = fields.String(required=True)
    account_number = fields.String(required=True)
    amount = fields.String(required=True, metadata=MONEY)
    remittance_reference = fields.String(
        required=True, metadata={"description": "To write in the transfer's remark (附言)"}
    )


class ShippingSchema(Schema):
    carrier = fields.String(allow_none=True)
    carrier_name = fields.String(allow_none=True)
    tracking_number = fields.String(allow_none=True)
    tracking_url = fields.String(allow_none=True)
    ship_by = fields.Date(required=True)
    shipped_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)


class FapiaoSchema(Schema):
    issued = fields.Boolean(required=True)
    number = fields.String(allow_none=True)
    issued_at = fields.DateTime(allow_none=True)


class OrderAddressSchema(Schema):
    organization = fields.String(allow_none=True)
    recipient = fields.String(allow_none=True)
    phone = fields.String(allow_none=True, metadata={"description": "Masked"})
    province = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    district = fields.String(allow_none=True)
    region = fields.String(required=True, metadata={"description": "Names in the language"})
    address = fields.String(allow_none=True)
    postal_code = fields.String(allow_none=True)


class OrderInvoiceSchema(Schema):
    kind = fields.String(allow_none=True)
    fapiao_type = fields.String(allow_none=True)
    fapiao_type_name = fields.String(allow_none=True)
    name = fields.String(allow_none=True, metadata={"description": "Company or person"})


class OrderSchema(ListedOrderSchema):
    next_step = fields.String(required=True)
    subtotal = fields.String(required=True, metadata=MONEY)
    vat = fields.String(required=True, metadata=MONEY)
    amount_paid = fields.String(required=True, metadata=MONEY)
    outstanding = fields.String(required=True, metadata=MONEY)
    lead_time = fields.String(required=True)
    lead_time_name = fields.String(required=True)
    lead_days = fields.Integer(required=True)
    timeline = fields.List(fields.Nested(TimelineEventSchema), required=True)
    parts = fields.List(fields.Nested(OrderedPartSchema), required=True)
    bank_transfer = fields.Nested(
        BankTransferSchema, allow_none=True, metadata={"description": "While payment is due"}
    )
    wechat_pay = fields.Boolean(
        required=True, metadata={"description": "POST /orders/<number>/wechat-pay is offered"}
    )
    shipping = fields.Nested(ShippingSchema, required=True)
    fapiao = fields.Nested(FapiaoSchema, required=True)
    address = fields.Nested(OrderAddressSchema, required=True)
    invoice = fields.Nested(OrderInvoiceSchema, required=True)


class WeChatPaySchema(Schema):
    """wx.requestPayment's parameters, as they are."""

    timeStamp = fields.String(required=True)
    nonceStr = fields.String(required=True)
    package = fields.String(required=True, metadata={"description": "prepay_id=…"})
    signType = fields.String(required=True, metadata={"description": "RSA"})
    paySign = fields.String(required=True)
    amount = fields.String(required=True, metadata=MONEY)
