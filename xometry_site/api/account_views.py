"""The Personal Center as the Mini Program shows it: the account, shipping addresses, invoice
details — the website's services (services/accounts), the website's rules (owner → else 404)."""

from __future__ import annotations

import functools

from flask_babel import gettext as _

from ..auth.forms import CUSTOMER_TYPE_LABELS
from ..i18n import current_language
from ..security import no_store
from ..services import divisions
from ..services.accounts import addresses, invoicing, subscriptions
from ..services.privacy.consents import current_policy_edition
from ..services.validators import (
    InvalidPhone,
    is_valid_postal_code,
    mask_phone,
    normalize_phone,
)
from .bearer import current_account
from .blueprints import account_bp as bp
from .errors import ApiError
from .schemas import AddressInSchema, AddressSchema, ErrorSchema, InvoiceSchema, MeSchema


def address_json(address) -> dict:
    locale = current_language()
    names = [divisions.name_of(code, locale) for code in (address.province, address.city)]
    if address.district:
        names.append(divisions.name_of(address.district, locale))
    return {
        "id": address.id,
        "organization": address.organization,
        "recipient": address.recipient,
        "address": address.address,
        "phone": mask_phone(address.phone) if address.phone else "",
        "province": address.province,
        "city": address.city,
        "district": address.district,
        "region": " ".join(name for name in names if name),
        "postal_code": address.postal_code,
        "is_default": address.is_default,
        "needs_district": addresses.needs_district(address),
    }


def invoice_json(invoice) -> dict | None:
    if invoice is None:
        return None
    return {
        "kind": invoice.kind,
        "fapiao_type": invoice.fapiao_type,
        "fapiao_type_name": str(invoicing.FAPIAO_TYPE_LABELS.get(invoice.fapiao_type, "")),
        "name": invoice.holder,
        "tax_number": invoicing.masked(invoice.tax_number),
        "bank_name": invoice.bank_name,
        "bank_account": invoicing.masked(invoice.bank_account),
        "invoice_email": invoice.invoice_email,
    }


@bp.route("/me", methods=["GET"])
@bp.signed_in
@no_store
@bp.response(200, MeSchema)
def me():
    """The account as the Personal Center shows it; secrets masked."""
    return me_json(current_account())


def me_json(user) -> dict:
    """The account as GET /me shows it (PATCH /me answers with it too)."""
    default_address = addresses.default_for(user)
    label = CUSTOMER_TYPE_LABELS.get(user.customer_type or "")
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "email_verified": user.email_verified_at is not None,
        "phone": mask_phone(user.phone) if user.phone else None,
        "phone_verified": user.phone_verified_at is not None,
        "customer_type": user.customer_type,
        "customer_type_name": str(label) if label else None,
        "job_title": user.job_title,
        "invoice_email": user.invoice_email,
        "preferred_language": user.preferred_language,
        "has_password": user.has_password,
        "wechat_bound": bool(user.wechat_identities),
        "created_at": user.created_at,
        "default_address": address_json(default_address) if default_address else None,
        "address_count": len(addresses.list_for(user)),
        "invoice": invoice_json(invoicing.get_for(user)),
        "subscription": subscriptions.state(user),
        "policy_edition": user.accepted_policy_edition,
        "current_policy_edition": current_policy_edition(),
    }


@bp.route("/addresses", methods=["GET"])
@bp.signed_in
@no_store
@bp.response(200, AddressSchema(many=True))
def address_list():
    """The shipping addresses, the default first."""
    return [address_json(a) for a in addresses.list_for(current_account())]


def _address_data(body: dict) -> addresses.AddressData:
    """The website form's checks, as field messages."""
    fields = {}
    try:
        phone = normalize_phone(body["phone"], allow_landline=True)
    except InvalidPhone:
        phone = ""
        fields["phone"] = _(
            "Please enter a Chinese mobile number or a landline with its area code."
        )
    postal_code = (body.get("postal_code") or "").strip()
    if not is_valid_postal_code(postal_code):
        fields["postal_code"] = _("A postal code has six digits.")
    province, city = body["province"].strip(), body["city"].strip()
    district = (body.get("district") or "").strip() or None
    if divisions.province_of(province) is None:
        fields["province"] = _("Please choose a province.")
    elif not divisions.is_valid_pair(province, city):
        fields["city"] = _("Please choose a city of the chosen province.")
    elif not district and divisions.has_districts(city):
        fields["district"] = _("Please choose the district or county.")
    elif district and not divisions.is_valid_district(city, district):
        fields["district"] = _("Please choose a district or county of the chosen city.")
    for name in ("recipient", "address"):
        if not (body.get(name) or "").strip():
            fields[name] = _("This field is required.")
    if fields:
        raise ApiError(422, "invalid", fields=fields)
    return addresses.AddressData(
        organization=(body.get("organization") or "").strip() or None,
        recipient=body["recipient"].strip(),
        address=body["address"].strip(),
        phone=phone,
        province=province,
        city=city,
        district=district,
        postal_code=postal_code,
        is_default=bool(body.get("is_default")),
    )


@bp.route("/addresses", methods=["POST"])
@bp.signed_in
@no_store
@bp.arguments(AddressInSchema)
@bp.response(201, AddressSchema)
@bp.alt_response(422, schema=ErrorSchema, description="A field is missing or not valid")
def address_create(body: dict):
    """Add a shipping address (the first one becomes the default)."""
    return address_json(addresses.create(current_account(), _address_data(body)))


def _owned_address(address_id: int):
    address = addresses.get_owned(current_account(), address_id)
    if address is None:
        raise ApiError(404, "not_found")
    return address


def owner_first(view):
    """Another account's address is a 404 before its body is even read (never a 422)."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        _owned_address(kwargs["address_id"])
        return view(*args, **kwargs)

    return wrapped


@bp.route("/addresses/<int:address_id>", methods=["PUT"])
@bp.signed_in
@owner_first
@no_store
@bp.arguments(AddressInSchema)
@bp.response(200, AddressSchema)
@bp.alt_response(404, schema=ErrorSchema, description="Not one of yours")
@bp.alt_response(422, schema=ErrorSchema, description="A field is missing or not valid")
def address_update(body: dict, address_id: int):
    """Correct an address; `is_default` true makes it the default."""
    address = _owned_address(address_id)
    addresses.update(current_account(), address, _address_data(body))
    return address_json(address)


@bp.route("/addresses/<int:address_id>", methods=["DELETE"])
@bp.signed_in
@no_store
@bp.response(204)
@bp.alt_response(404, schema=ErrorSchema, description="Not one of yours")
def address_delete(address_id: int):
    """Delete an address; the oldest remaining one becomes the default."""
    addresses.delete(current_account(), _owned_address(address_id))


@bp.route("/invoice", methods=["GET"])
@bp.signed_in
@no_store
@bp.response(200, InvoiceSchema)
@bp.alt_response(404, schema=ErrorSchema, description="No invoice details saved")
def invoice():
    """The invoice details (tax number and bank account masked)."""
    found = invoice_json(invoicing.get_for(current_account()))
    if found is None:
        raise ApiError(404, "not_found")
    return found
