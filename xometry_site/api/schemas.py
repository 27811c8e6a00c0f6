"""Request and answer bodies of the API (marshmallow, documented by flask-smorest).

Input fields carry translated messages (lazy strings, rendered in the caller's language when the
error is answered); unknown keys are ignored, so an older client keeps working.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, fields, validate

REQUIRED = _l("This field is required.")
NOT_VALID = _l("This value is not valid.")
FIELD_MESSAGES = {
    "required": REQUIRED,
    "null": REQUIRED,
    "invalid": NOT_VALID,
    "invalid_utf8": NOT_VALID,
    "too_large": NOT_VALID,
    "validator_failed": NOT_VALID,
}


def text(*, required: bool = False, max_length: int = 200, **kw: Any) -> fields.String:
    """A string input, at most `max_length` characters, with translated messages."""
    return fields.String(
        required=required,
        validate=validate.Length(max=max_length, error=_l("This is too long.")),
        error_messages=FIELD_MESSAGES,
        **kw,
    )


def flag(**kw: Any) -> fields.Boolean:
    return fields.Boolean(error_messages=FIELD_MESSAGES, **kw)


class InputSchema(Schema):
    """A request body: unknown keys ignored, messages translated."""

    class Meta:
        unknown = EXCLUDE

    error_messages = {"type": _l("Please send a JSON object."), "unknown": NOT_VALID}


# --- errors -------------------------------------------------------------------------------------


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"description": "Stable error code"})
    message = fields.String(required=True, metadata={"description": "In the caller's language"})
    fields_ = fields.Dict(
        data_key="fields",
        keys=fields.String(),
        metadata={"description": "Message per invalid field"},
    )


class LinkOfferSchema(Schema):
    methods = fields.List(fields.String(), metadata={"description": '"phone", "password"'})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)
    link = fields.Nested(LinkOfferSchema, metadata={"description": "With link_required only"})


# --- sign-in ------------------------------------------------------------------------------------


class SessionInSchema(InputSchema):
    code = text(required=True, max_length=128, metadata={"description": "wx.login's code"})


class RefreshInSchema(InputSchema):
    refresh_token = text(required=True, max_length=128)


class RegisterInSchema(InputSchema):
    phone_code = text(
        required=True, max_length=128, metadata={"description": "getPhoneNumber's code"}
    )
    accept_policy = flag(required=True)
    confirm_adult = flag(required=True)


class LinkInSchema(InputSchema):
    confirm = flag(required=True, metadata={"description": "The user chose to link"})
    password = text(max_length=1024, load_only=True)


class TokensSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"description": '"Bearer"'})
    expires_in = fields.Integer(required=True, metadata={"description": "Seconds"})
    registered = fields.Boolean(required=True)


# --- account ------------------------------------------------------------------------------------


class AddressSchema(Schema):
    id = fields.Integer(required=True)
    organization = fields.String(allow_none=True)
    recipient = fields.String(required=True)
    address = fields.String(required=True)
    phone = fields.String(required=True, metadata={"description": "Masked"})
    province = fields.String(required=True, metadata={"description": "GB/T 2260 code"})
    city = fields.String(required=True)
    district = fields.String(allow_none=True)
    region = fields.String(required=True, metadata={"description": "Names in the language"})
    postal_code = fields.String(allow_none=True)
    is_default = fields.Boolean(required=True)
    needs_district = fields.Boolean(required=True)


class AddressInSchema(InputSchema):
    organization = text(max_length=100, allow_none=True)
    recipient = text(required=True, max_length=100)
    address = text(required=True, max_length=200)
    phone = text(required=True, max_length=32)
    province = text(required=True, max_length=12)
    city = text(required=True, max_length=12)
    district = text(max_length=12, allow_none=True)
    postal_code = text(required=True, max_length=12)
    is_default = flag(load_default=False)


class InvoiceSchema(Schema):
    kind = fields.String(required=True, metadata={"description": "corporate or personal"})
    fapiao_type = fields.String(required=True)
    fapiao_type_name = fields.String(required=True)
    name = fields.String(allow_none=True, metadata={"description": "Company or person"})
    tax_number = fields.String(allow_none=True, metadata={"description": "Masked"})
    bank_name = fields.String(allow_none=True)
    bank_account = fields.String(allow_none=True, metadata={"description": "Masked"})
    invoice_email = fields.String(allow_none=True)


class SubscriptionSchema(Schema):
    state = fields.String(required=True)


class MeSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    email_verified = fields.Boolean(required=True)
    phone = fields.String(allow_none=True, metadata={"description": "Masked"})
    phone_verified = fields.Boolean(required=True)
    customer_type = fields.String(allow_none=True)
    customer_type_name = fields.String(allow_none=True)
    job_title = fields.String(allow_none=True)
    invoice_email = fields.String(allow_none=True)
    preferred_language = fields.String(allow_none=True)
    has_password = fields.Boolean(required=True)
    wechat_bound = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    default_address = fields.Nested(AddressSchema, allow_none=True)
    address_count = fields.Integer(required=True)
    invoice = fields.Nested(InvoiceSchema, allow_none=True)
    subscription = fields.String(required=True)
    policy_edition = fields.String(
        allow_none=True, metadata={"description": "The edition accepted"}
    )
    current_policy_edition = fields.String(required=True)


# --- quotes -------------------------------------------------------------------------------------


class ListedQuoteSchema(Schema):
    ref = fields.String(required=True)
    status = fields.String(required=True)
    status_name = fields.String(required=True)
    process = fields.String(required=True)
    process_name = fields.String(required=True)
    part_count = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    total = fields.String(allow_none=True, metadata={"description": "CNY, decimal string"})
    currency = fields.String(required=True)
    valid_until = fields.DateTime(allow_none=True)


class QuoteListSchema(Schema):
    quotes = fields.List(fields.Nested(ListedQuoteSchema), required=True)


class FindingSchema(Schema):
    code = fields.String(required=True)
    severity = fields.String(required=True)
    message = fields.String(required=True)


class BreakSchema(Schema):
    quantity = fields.Integer(required=True)
    unit_price = fields.String(required=True)


class LeadDaysSchema(Schema):
    standard = fields.Integer(allow_none=True)
    expedited = fields.Integer(allow_none=True)


class PriceSchema(Schema):
    instant = fields.Boolean(required=True)
    unit_price = fields.String(allow_none=True)
    total = fields.String(allow_none=True)
    currency = fields.String(required=True)
    lead_days = fields.Nested(LeadDaysSchema, required=True)
    breaks = fields.List(fields.Nested(BreakSchema), required=True)
    dfm = fields.List(fields.Nested(FindingSchema), required=True)
    review_reason = fields.String(allow_none=True)
    review_message = fields.String(allow_none=True)


class PartSchema(Schema):
    id = fields.Integer(required=True)
    filename = fields.String(required=True)
    analysis_status = fields.String(required=True)
    options = fields.Dict(keys=fields.String(), required=True)
    price = fields.Nested(PriceSchema, allow_none=True)


class QuoteSchema(ListedQuoteSchema):
    material = fields.String(required=True)
    quantity = fields.Integer(required=True)
    notes = fields.String(allow_none=True)
    parts = fields.List(fields.Nested(PartSchema), required=True)
    subtotal = fields.String(allow_none=True)
    vat = fields.String(allow_none=True)


# --- privacy ------------------------------------------------------------------------------------


class DataItemSchema(Schema):
    label = fields.String(required=True)
    value = fields.String(required=True)


class DataRecordSchema(Schema):
    title = fields.String(required=True)
    items = fields.List(fields.Nested(DataItemSchema), required=True)


class DataCategorySchema(Schema):
    key = fields.String(required=True)
    title = fields.String(required=True)
    purpose = fields.String(required=True)
    method = fields.String(required=True)
    records = fields.List(fields.Nested(DataRecordSchema), required=True)


class MyDataSchema(Schema):
    categories = fields.List(fields.Nested(DataCategorySchema), required=True)


class PolicySchema(Schema):
    edition = fields.String(required=True)
    title = fields.String(required=True)
    effective_date = fields.String(allow_none=True)
    url = fields.String(required=True, metadata={"description": "The policy on the website"})
    editions = fields.List(fields.String(), required=True)
