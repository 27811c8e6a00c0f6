"""How registry values and audit actions read on the privacy pages, in the page's language."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import format_date, format_datetime
from flask_babel import lazy_gettext as _l

from ..i18n import current_language
from ..services import divisions
from ..services.accounts.invoicing import FAPIAO_TYPE_LABELS
from ..services.privacy import pi_registry
from ..services.privacy.consents import LABELS as CONSENT_LABELS
from ..services.validators import mask_secret
from ..templating import LANGUAGE_NAMES

INVOICE_KINDS = {"corporate": _l("Corporate invoice"), "personal": _l("Personal invoice")}
SIGN_IN_METHODS = {
    "password": _l("Password"),
    "verify_link": _l("E-mail verification link"),
    "wechat": _l("WeChat"),
    "miniprogram": _l("WeChat Mini Program"),
}
CONSENT_SOURCES = {
    "register": _l("Registration"),
    "wechat": _l("Registration with WeChat"),
    "miniprogram": _l("WeChat Mini Program"),
    "policy_update": _l("Policy update notice"),
    "account": _l("Account Details"),
    "invoice": _l("Invoice information"),
    "cookies": _l("Cookie settings"),
    "consents": _l("Your consents page"),
}
ACTION_LABELS = {
    "drawing.download": _l("A staff member downloaded your drawing"),
    "staff.viewed_user": _l("A staff member viewed your account details"),
    "staff.found_user": _l("A staff member found your account in a search"),
    "staff.viewed_request": _l("A staff member read your request"),
    "staff.request_in_progress": _l("A staff member started on your request"),
    "staff.request_answered": _l("A staff member answered your request"),
    "staff.request_declined": _l("A staff member declined your request"),
    "staff.marked_minor": _l("A staff member marked the account as a minor's"),
    "staff.quote_declined": _l("A staff member declined to quote your quote"),
    "staff.quote_question": _l("A staff member asked you a question about your quote"),
    "staff.provided": _l("A staff member gave your information to a recipient (listed below)"),
    "account.erased": _l("Your account was erased"),
    "staff.second_factor_reset": _l("Your staff second factor was reset"),
    "staff.request_identity_verified": _l("A staff member verified that your request is yours"),
    "staff.request_corrected_profile": _l(
        "A staff member corrected your account information, as you asked"
    ),
    "staff.request_corrected_address": _l("A staff member corrected an address, as you asked"),
    "staff.request_corrected_invoice": _l(
        "A staff member corrected your invoice information, as you asked"
    ),
    "staff.request_deleted_drawings": _l("A staff member deleted drawings, as you asked"),
    "staff.request_deleted_quote": _l("A staff member deleted a quote, as you asked"),
    "staff.request_deleted_address": _l("A staff member deleted an address, as you asked"),
    "staff.request_deleted_invoice": _l(
        "A staff member deleted your invoice information, as you asked"
    ),
    "staff.request_deregistered": _l("A staff member closed your account, as you asked"),
    "staff.request_exported": _l("A staff member prepared a copy of your data, as you asked"),
    "staff.request_transfer_asked": _l(
        "A staff member asked you to confirm where to transfer your data"
    ),
    "staff.request_transferred": _l(
        "A staff member sent a copy of your data to the processor you confirmed"
    ),
    "request.transfer_confirmed": _l("You confirmed where to transfer your data"),
    "request.filed": _l("The request was sent"),
    "staff.viewed_invoice": _l("A staff member opened your invoice details to correct them"),
    "drawing.deleted": _l("A drawing was deleted"),
    "quote.deleted": _l("A quote was deleted"),
    "account.deregistered": _l("The account was closed"),
    "export.requested": _l("A copy of your data was requested"),
    "export.transfer_requested": _l("A copy of your data for another processor was requested"),
    "export.transfer_collected": _l("The processor downloaded the copy of your data"),
}


TARGET_KINDS = {
    "drawing": _l("Drawing"),
    "quote": _l("Quote"),
    "order": _l("Order"),
    "export": _l("Copy of your data"),
    "request": _l("Your request"),
    "user": _l("Your account"),
}


def show_value(column: pi_registry.Column, value: Any, record: Any = None) -> str:
    """A stored value as the owner reads it on "My data" (the export carries it in full): names,
    never codes; money in yuan. `record` (its other values) tells whose catalogue a material or
    finish belongs to."""
    kind = column.show
    if kind == pi_registry.SECRET:
        return str(_l("set") if value else _l("not set"))
    if value is None or value == "":
        return "—"
    if kind == pi_registry.DATA:
        return str(_l("in your copy of your data"))
    if kind == pi_registry.MASKED:
        return mask_secret(str(value))
    if kind == pi_registry.TIME:
        return format_datetime(value, "medium")
    if kind == pi_registry.FLAG:
        return str(_l("yes") if value else _l("no"))
    if kind == pi_registry.REGION:
        return divisions.name_of(value, current_language()) or str(value)
    if kind == pi_registry.LANGUAGE:
        return LANGUAGE_NAMES.get(value, str(value))
    if kind == pi_registry.CONSENT_KIND:
        return str(CONSENT_LABELS.get(value, value))
    if kind == pi_registry.MONEY:
        return f"¥{Decimal(str(value)):,.2f}"  # as the `cny` filter writes money
    if column.codes in ("material", "finish"):
        from ..services.quotes.catalogue import catalogue_name

        return catalogue_name(column.codes, str(value), _value_of(record, "process"))
    if column.codes:
        return code_name(column.codes, str(value))
    return str(value)


def _value_of(record: Any, name: str) -> Any:
    """Another value of the same record (the process a material belongs to)."""
    for column, value in getattr(record, "values", ()):
        if column.name == name:
            return value
    return None


def target_label(target: str | None) -> str:
    """Which record an audit event touched, in words: "Drawing #12", not "drawing:12"."""
    if not target:
        return "—"
    kind, _sep, ident = target.partition(":")
    name = TARGET_KINDS.get(kind)
    return f"{name} #{ident}" if name and ident.isdigit() else target


def code_name(codes: str, value: str) -> str:
    """The name other features give their codes (imported late: they are optional here)."""
    if codes == "process":
        from ..services.quotes.catalogue import catalogue_name

        return catalogue_name("process", value)
    if codes == "payment_status":
        from ..orders.labels import PAYMENT_STATUS

        return str(PAYMENT_STATUS.get(value, value))
    names: dict = {
        "invoice_kind": INVOICE_KINDS,
        "fapiao_type": FAPIAO_TYPE_LABELS,
        "sign_in_method": SIGN_IN_METHODS,
        "consent_source": CONSENT_SOURCES,
    }
    if codes == "customer_type":
        from ..auth.forms import CUSTOMER_TYPE_LABELS

        names["customer_type"] = CUSTOMER_TYPE_LABELS
    elif codes == "quote_status":
        from ..quotes.labels import STATUS

        names["quote_status"] = STATUS
    elif codes in ("order_status", "payment_method"):
        from ..orders.labels import PAYMENT_METHOD, STATUS

        names["order_status"], names["payment_method"] = STATUS, PAYMENT_METHOD
    elif codes == "carrier":
        from ..services.orders.carriers import carrier_name

        return str(carrier_name(value))
    elif codes == "lead_choice":
        from ..quotes.labels import LEAD_CHOICE

        names["lead_choice"] = LEAD_CHOICE
    elif codes in ("decline_reason", "quote_message_kind"):
        from ..quotes.labels import DECLINE_REASON, MESSAGE_AUTHOR

        names.update(decline_reason=DECLINE_REASON, quote_message_kind=MESSAGE_AUTHOR)
    elif codes in ("request_decline", "identity_method"):
        from ..services.privacy.requests import DECLINE_REASONS
        from ..services.privacy.staff_actions import IDENTITY_METHODS

        names.update(request_decline=DECLINE_REASONS, identity_method=IDENTITY_METHODS)
    elif codes in ("recipient", "provision_purpose", "provision_basis", "pi_type", "country"):
        return sharing_name(codes, value)
    elif codes == "notification_kind":
        from ..services.notifications import kind_name

        return kind_name(value)
    elif codes in ("tolerance", "inspection"):
        from ..services.quotes.catalogue import option_name

        return option_name(codes, value)
    return str(names.get(codes, {}).get(value, value))


def sharing_name(codes: str, value: str) -> str:
    """Names of the register (policy 4) in the page's language: recipients, kinds of information,
    countries, purposes and bases of provisions."""
    from flask_babel import get_locale

    from ..services.privacy import provisions, recipients

    if codes == "recipient":
        return recipients.name_of(value, get_locale())
    if codes == "pi_type":
        return recipients.pi_type_name(value)
    if codes == "country":
        return recipients.country_name(value, get_locale())
    names = provisions.PURPOSES if codes == "provision_purpose" else provisions.BASIS_LABELS
    return str(names.get(value, value))


def action_label(action: str) -> str:
    """What an audit action means to the person whose data it touched."""
    return str(ACTION_LABELS.get(action, action))


def when(value: Any) -> str:
    """Dates and times in the page's language; '—' for nothing."""
    if value is None:
        return "—"
    if hasattr(value, "hour"):
        return format_datetime(value, "medium")
    return format_date(value, "long")
