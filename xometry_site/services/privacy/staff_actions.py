"""Staff act for a customer who asked by contacting us (policy 5.2, 5.3 B, 5.4, 5.6).

Only on a data request whose requester's identity staff have recorded as verified (how, and a
note), and only on the account the request is about. Each action calls the same service the
customer's own page calls (profile, addresses, invoicing, erasure, export): one home per workflow.
Every action is audited with the request as its target, moves the request to "being handled",
and mails the requester in the request's language, in the same transaction as the change.

A transfer (5.2) goes only to a processor address the customer confirmed from a link mailed to
their own account address; the copy is then delivered by a single-use link mailed there
(services/privacy/export.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l

from ...extensions import db
from ...models import Drawing, PrivacyRequest, Quote, ShippingAddress, User
from ...models.base import utcnow
from .. import divisions
from ..accounts import addresses, invoicing, mail_links, profile
from ..mail import external_url, send_mail
from . import audit_trail, erasure
from . import export as exports

T = TypeVar("T")

IDENTITY_METHODS = {
    "signed_in": _l("Filed while signed in to the account"),
    "email_code": _l("Proved the account's e-mail address with our code"),
    "email_reply": _l("Answered our mail to the account's e-mail address"),
    "phone_call": _l("We called back the account's phone number"),
    "wechat": _l("Confirmed from the WeChat account bound to the account"),
    "other": _l("Other (see the note)"),
}
PROCESSOR_PURPOSE = "transfer-processor"
PROCESSOR_LINK_AGE = 7 * 24 * 3600
PROFILE_FIELDS = {
    "name": _l("Name"),
    "job_title": _l("Job title"),
    "customer_type": _l("Customer type"),
    "invoice_email": _l("Invoice e-mail"),
    "preferred_language": _l("Preferred language"),
}


class ActionRefused(Exception):
    """Staff may not act on this request (yet): the reason is the class."""


class NotVerified(ActionRefused):
    """The requester's identity has not been recorded as verified."""


class NoAccount(ActionRefused):
    """The request is about no account (or an erased one), or is closed."""


class ProcessorNotConfirmed(ActionRefused):
    """A transfer needs the processor's address, confirmed by the customer."""


class NoAccountAddress(ActionRefused):
    """The account has no e-mail address to send the confirmation link to."""


# --- identity ------------------------------------------------------------------------------------


def record_identity(req: PrivacyRequest, staff: User, method: str, note: str | None) -> None:
    """Staff checked that the requester is the account's owner: the action buttons appear."""
    if method not in IDENTITY_METHODS:
        raise ValueError(method)
    if req.user_id is None or req.is_closed:
        raise NoAccount
    req.identity_verified_at = utcnow()
    req.identity_verified_by_id = staff.id
    req.identity_method = method
    req.identity_note = (note or "").strip() or None
    _audit(req, staff, "identity_verified")
    db.session.commit()


def account_for(req: PrivacyRequest) -> User:
    """The account staff may act on for this request; raises ActionRefused otherwise."""
    if not req.identity_verified:
        raise NotVerified
    user = db.session.get(User, req.user_id) if req.user_id else None
    if user is None or user.erased_at is not None or req.is_closed:
        raise NoAccount
    return user


def may_act(req: PrivacyRequest) -> bool:
    """Whether the staff page offers the actions."""
    try:
        account_for(req)
    except ActionRefused:
        return False
    return True


def history(req: PrivacyRequest) -> list:
    """What was done on this request, oldest first (the audit log's rows for it, without the
    staff's readings of it)."""
    return [e for e in audit_trail.for_target(_target(req)) if e.action != "staff.viewed_request"]


# --- the actions ---------------------------------------------------------------------------------


def correct_profile(req: PrivacyRequest, staff: User, data: profile.ProfileData) -> list[Any]:
    """5.3 B: correct the account information (policy 5.3 A (1)); returns the fields changed."""
    user = account_for(req)
    changed = [
        label  # lazy: the mail names them in the requester's language, the page in staff's
        for name, label in PROFILE_FIELDS.items()
        if (getattr(user, name) or None) != (_profile_value(data, name) or None)
    ]
    _act(req, staff, "corrected_profile", lambda: profile.update_profile(user, data), changed)
    return changed


def _profile_value(data: profile.ProfileData, name: str) -> Any:
    value = getattr(data, name)
    return value.lower() if name == "invoice_email" and value else value


def correct_address(
    req: PrivacyRequest, staff: User, address: ShippingAddress, data: addresses.AddressData
) -> None:
    """5.3 B: correct a shipping address (policy 5.3 A (3))."""
    user = _owner_of(req, address.user_id)
    summary = _address_summary(address, req.language)
    _act(req, staff, "corrected_address", lambda: addresses.update(user, address, data), [summary])


def correct_invoice(req: PrivacyRequest, staff: User, data: invoicing.InvoiceData) -> None:
    """5.3 B: correct the invoice details (policy 5.3 A (4)). An ID number as personal tax number
    needs the customer's own separate consent: staff cannot give it (SensitiveConsentMissing)."""
    user = account_for(req)
    _act(
        req,
        staff,
        "corrected_invoice",
        lambda: invoicing.save(user, data, consent_given=False, ip=None),
        [],
    )


def delete_drawings(req: PrivacyRequest, staff: User, drawing_ids: list[int]) -> int:
    """5.4: crypto-shred these drawings of the account (those of orders are kept by law)."""
    user = account_for(req)
    names = [d.filename for d in deletable_drawings(user) if d.id in set(drawing_ids)]
    if not names:
        return 0
    outcome = _act(
        req,
        staff,
        "deleted_drawings",
        lambda: erasure.delete_drawings(user, drawing_ids, actor=staff),
        names,
    )
    return outcome.shredded


def delete_quote(req: PrivacyRequest, staff: User, ref: str) -> bool:
    """5.4: one quote with its history and drawings (an ordered one is kept: QuoteKept)."""
    user = account_for(req)
    quote = db.session.scalar(db.select(Quote).filter_by(user_id=user.id, ref=ref))
    if quote is None:
        return False
    if quote.status == "ordered":
        raise erasure.QuoteKept
    return _act(
        req, staff, "deleted_quote", lambda: erasure.delete_quote(user, ref, actor=staff), [ref]
    )


def delete_address(req: PrivacyRequest, staff: User, address: ShippingAddress) -> None:
    """5.4: one shipping address."""
    user = _owner_of(req, address.user_id)
    summary = _address_summary(address, req.language)
    _act(req, staff, "deleted_address", lambda: addresses.delete(user, address), [summary])


def delete_invoice(req: PrivacyRequest, staff: User) -> bool:
    """5.4: the invoice details (and the ID-number consent with them)."""
    user = account_for(req)
    if invoicing.get_for(user) is None:
        return False
    return _act(req, staff, "deleted_invoice", lambda: invoicing.delete(user), [])


def deregister(req: PrivacyRequest, staff: User) -> datetime:
    """5.6: close the account as its owner would (cooling-off, the cancellable mail, erasure)."""
    user = account_for(req)
    if user.is_deregistered:
        raise NoAccount
    return _act(
        req, staff, "deregistered", lambda: erasure.deregister(user, actor=staff), [], mail=False
    )


def export_copy(req: PrivacyRequest, staff: User) -> None:
    """5.1: a copy for the owner, built as theirs is; the ready mail brings the download link."""
    user = account_for(req)
    _act(
        req,
        staff,
        "exported",
        lambda: exports.request_export(user, req.language, actor=staff, request=req),
        [],
    )


def ask_processor_confirmation(req: PrivacyRequest, staff: User, processor_email: str) -> None:
    """5.2: the processor's address goes to the customer's own account address first; nothing is
    sent to the processor until the customer confirms it from that mail."""
    user = account_for(req)
    if not user.email:
        raise NoAccountAddress
    email = processor_email.strip().lower()
    req.processor_email = email
    req.processor_confirmed_at = None
    token = mail_links.make(PROCESSOR_PURPOSE, {"r": req.public_id, "e": email})
    _audit(req, staff, "transfer_asked")
    _in_progress(req)
    send_mail(
        user.email,
        "transfer_confirm",
        req.language,
        user_name=user.name,
        processor=req.processor or email,
        processor_email=email,
        confirm_url=external_url("privacy.transfer_confirm", token=token),
    )
    db.session.commit()


def request_for_confirmation(token: str) -> PrivacyRequest | None:
    """The transfer request a customer's confirmation link names, while it still waits for it."""
    payload = mail_links.read(PROCESSOR_PURPOSE, token, PROCESSOR_LINK_AGE)
    if not isinstance(payload, dict):
        return None
    req = db.session.scalar(db.select(PrivacyRequest).filter_by(public_id=payload.get("r")))
    if req is None or req.is_closed or req.processor_email != payload.get("e"):
        return None
    return req


def confirm_processor(req: PrivacyRequest) -> None:
    """The customer confirmed the processor's address (from the link in their own mailbox)."""
    if req.processor_confirmed_at is None:
        req.processor_confirmed_at = utcnow()
        audit_trail.record(
            "request.transfer_confirmed",
            subject_id=req.user_id,
            actor_id=req.user_id,
            target=_target(req),
        )
        db.session.commit()


def transfer(req: PrivacyRequest, staff: User) -> None:
    """5.2: a copy delivered to the confirmed processor address by a single-use, expiring link."""
    user = account_for(req)
    if not (req.processor_email and req.processor_confirmed_at):
        raise ProcessorNotConfirmed
    recipient = req.processor_email
    _act(
        req,
        staff,
        "transferred",
        lambda: exports.request_export(
            user, req.language, actor=staff, request=req, recipient=recipient
        ),
        [recipient],
    )


# --- what the staff page lists -------------------------------------------------------------------


def deletable_drawings(user: User) -> list[Drawing]:
    """The account's readable drawings that are not kept with an order."""
    kept = {d.id for d in erasure.kept_drawings(user)}
    return [
        d
        for d in db.session.scalars(
            db.select(Drawing)
            .where(Drawing.user_id == user.id, Drawing.deleted_at.is_(None))
            .order_by(Drawing.id)
        )
        if d.id not in kept
    ]


def address_of(req: PrivacyRequest, address_id: int) -> ShippingAddress | None:
    """One of the request's account's addresses (another account's id is None → 404)."""
    user = account_for(req)
    return addresses.get_owned(user, address_id)


# --- machinery -----------------------------------------------------------------------------------


def _owner_of(req: PrivacyRequest, owner_id: int) -> User:
    user = account_for(req)
    if owner_id != user.id:
        raise NoAccount
    return user


def _address_summary(address: ShippingAddress, lang: str) -> str:
    city = divisions.name_of(address.city, lang) or ""
    return ", ".join(part for part in (address.recipient, city) if part)


def _target(req: PrivacyRequest) -> str:
    return f"request:{req.id}"


def _audit(req: PrivacyRequest, staff: User, action: str) -> None:
    audit_trail.record(
        f"staff.request_{action}", subject_id=req.user_id, actor_id=staff.id, target=_target(req)
    )


def _in_progress(req: PrivacyRequest) -> None:
    if req.status == "open":
        req.status = "in_progress"


def _act(
    req: PrivacyRequest,
    staff: User,
    action: str,
    work: Callable[[], T],
    items: list[Any],
    *,
    mail: bool = True,
) -> T:
    """Audit, status and the requester's mail join the change in the service's own commit; a
    refusal from the service rolls them back with it."""
    _audit(req, staff, action)
    _in_progress(req)
    if mail:
        _tell(req, action, items)
    try:
        result = work()
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return result


def _tell(req: PrivacyRequest, action: str, items: list[Any]) -> None:
    """The requester learns what we did, in the language of the request."""
    account = db.session.get(User, req.user_id) if req.user_id else None
    to = req.email or (account.email if account else None)
    if not to:
        return
    from .requests import KIND_LABELS

    send_mail(
        to,
        "request_action",
        req.language,
        action=action,
        items=items,
        kind=KIND_LABELS[req.kind],
        filed_on=req.created_at,
        status_url=external_url("privacy.requests"),
    )
