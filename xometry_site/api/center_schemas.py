"""Bodies of the Personal Center's edits and of the policy's rights (profile, password, invoice,
subscription, copies, consents, deregistration, requests, policy editions, what was collected).

Inputs are typed here; the rules (required fields, the fapiao type's fields, password rules) are
the website's forms' and services', so both channels refuse the same things with the same words.
"""

from __future__ import annotations

from marshmallow import Schema, fields

from .schemas import InputSchema, flag, text

# --- Personal Center ----------------------------------------------------------------------------


class ProfileInSchema(InputSchema):
    """PATCH: only the fields sent change; the others keep their value."""

    name = text(max_length=100)
    job_title = text(max_length=100, allow_none=True)
    customer_type = text(
        max_length=32, allow_none=True, metadata={"description": "A code of the registration form"}
    )
    invoice_email = text(max_length=254, allow_none=True)
    preferred_language = text(
        max_length=8, allow_none=True, metadata={"description": '"zh_CN", "en" or empty'}
    )


class PasswordInSchema(InputSchema):
    current_password = text(
        max_length=1024, load_only=True, metadata={"description": "Required when one is set"}
    )
    new_password = text(required=True, max_length=4096, load_only=True)


class InvoiceInSchema(InputSchema):
    """The website's invoice form: a special VAT invoice also needs the registered address and
    phone, the bank and the account number."""

    kind = text(required=True, max_length=16, metadata={"description": "corporate or personal"})
    fapiao_type = text(max_length=16, metadata={"description": "normal (default) or special"})
    company_name = text(max_length=200, allow_none=True)
    name = text(max_length=100, allow_none=True, metadata={"description": "Personal invoices"})
    tax_number = text(max_length=64, allow_none=True)
    company_address = text(max_length=300, allow_none=True)
    company_phone = text(max_length=32, allow_none=True)
    province = text(max_length=12, allow_none=True)
    city = text(max_length=12, allow_none=True)
    district = text(max_length=12, allow_none=True)
    address = text(max_length=300, allow_none=True)
    postal_code = text(max_length=12, allow_none=True)
    bank_name = text(max_length=200, allow_none=True)
    bank_account = text(max_length=64, allow_none=True)
    invoice_email = text(max_length=254, allow_none=True)
    consent_sensitive = flag(
        load_default=False,
        metadata={"description": "Separate consent to a national ID number as tax number"},
    )
    password = text(
        max_length=1024,
        load_only=True,
        metadata={"description": "Re-authentication when the sign-in is not recent"},
    )


class SubscriptionInSchema(InputSchema):
    subscribed = flag(required=True)


# --- copies of my data --------------------------------------------------------------------------


class ExportSchema(Schema):
    id = fields.String(required=True)
    status = fields.String(
        required=True, metadata={"description": "pending, building, ready, failed"}
    )
    status_name = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    ready_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True)
    size = fields.Integer(allow_none=True, metadata={"description": "Bytes of the ZIP"})
    drawing_count = fields.Integer(allow_none=True)
    transfer = fields.Boolean(required=True, metadata={"description": "Sent to a processor"})
    downloadable = fields.Boolean(required=True)


# --- consents -----------------------------------------------------------------------------------


class ConsentRecordSchema(Schema):
    kind = fields.String(required=True)
    name = fields.String(required=True)
    edition = fields.String(required=True, metadata={"description": "Policy edition"})
    channel = fields.String(allow_none=True, metadata={"description": "e.g. miniprogram"})
    given_at = fields.DateTime(required=True)
    confirmed = fields.Boolean(required=True, metadata={"description": "False: mail pending"})
    withdrawn_at = fields.DateTime(allow_none=True)
    recipient_id = fields.Integer(
        allow_none=True, metadata={"description": "The third party of a separate consent"}
    )


class ConsentKindSchema(Schema):
    kind = fields.String(required=True)
    name = fields.String(required=True)
    withdrawable = fields.Boolean(required=True)


class ThirdPartySchema(Schema):
    """A recipient that needs the customer's separate consent (policy 4), as the website lists it."""

    recipient_id = fields.Integer(required=True)
    name = fields.String(required=True)
    purpose = fields.String(required=True)
    categories = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "Names of the kinds of personal information it receives"},
    )
    location = fields.String(
        required=True, metadata={"description": "Mainland China, or the country or region"}
    )
    outside_mainland = fields.Boolean(required=True)
    contact = fields.String(allow_none=True)
    in_use = fields.Boolean(
        required=True, metadata={"description": "False: ended; a consent can still be withdrawn"}
    )
    given = fields.Boolean(required=True)
    given_at = fields.DateTime(allow_none=True)


class ConsentsSchema(Schema):
    in_force = fields.List(fields.Nested(ConsentKindSchema), required=True)
    history = fields.List(fields.Nested(ConsentRecordSchema), required=True)
    third_parties = fields.List(fields.Nested(ThirdPartySchema), required=True)


class ThirdPartyConsentInSchema(InputSchema):
    agree = flag(
        load_default=False,
        metadata={
            "description": "Required true: the box that gives the information listed to this "
            "recipient for the purpose listed"
        },
    )


# --- deregistration -----------------------------------------------------------------------------


class DeregisterInSchema(InputSchema):
    confirm = flag(required=True)
    password = text(
        max_length=1024,
        load_only=True,
        metadata={"description": "Re-authentication when the sign-in is not recent"},
    )


class DeregisteredSchema(Schema):
    erasure_date = fields.DateTime(required=True)
    erased = fields.Boolean(required=True, metadata={"description": "No cooling-off applied"})


# --- data-protection requests -------------------------------------------------------------------


class PrivacyRequestInSchema(InputSchema):
    kind = text(required=True, max_length=16)
    details = text(max_length=5000, allow_none=True)
    processor = text(max_length=200, allow_none=True, metadata={"description": "For a transfer"})


class PrivacyRequestSchema(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    kind_name = fields.String(required=True)
    status = fields.String(required=True)
    status_name = fields.String(required=True)
    details = fields.String(allow_none=True)
    processor = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    due_on = fields.Date(allow_none=True)
    overdue = fields.Boolean(required=True)
    answer = fields.String(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)
    decline_reason = fields.String(allow_none=True)


# --- policy editions ----------------------------------------------------------------------------


class EditionSchema(Schema):
    edition = fields.String(required=True)
    effective_date = fields.Date(required=True)
    is_current = fields.Boolean(required=True)
    url = fields.String(required=True, metadata={"description": "The edition on the website"})


class SectionSchema(Schema):
    anchor = fields.String()
    number = fields.String()
    title = fields.String(required=True)
    blocks = fields.List(fields.Dict(), required=True)


class EditionTextSchema(EditionSchema):
    title = fields.String(required=True)
    intro = fields.List(fields.Dict(), required=True)
    sections = fields.List(fields.Nested(SectionSchema), required=True)
    appendix = fields.Dict(allow_none=True)
    changes = fields.List(fields.String(), required=True)


# --- what the Mini Program collected ------------------------------------------------------------


class CollectedSchema(Schema):
    phone = fields.String(allow_none=True, metadata={"description": "Masked"})
    phone_verified_at = fields.DateTime(allow_none=True)
    openid_linked = fields.Boolean(required=True)
    unionid_linked = fields.Boolean(required=True)
    linked_at = fields.DateTime(allow_none=True, metadata={"description": "OpenID bound on"})
    sign_ins = fields.Integer(required=True, metadata={"description": "Mini Program sign-ins"})
    last_sign_in_at = fields.DateTime(allow_none=True)
    uploads = fields.Integer(required=True, metadata={"description": "Drawings held"})
