"""Consents and their withdrawal (5.5), separate consent to named third parties (4),
deregistration (5.6) and data-protection requests (5.7) from the Mini Program: the website's
services, forms and limits."""

from __future__ import annotations

from flask import request
from flask_babel import get_locale
from flask_babel import gettext as _

from ..extensions import limiter
from ..i18n import current_language
from ..privacy.forms import RequestForm
from ..security import no_store
from ..services.accounts import api_tokens
from ..services.accounts.miniprogram_accounts import CHANNEL
from ..services.privacy import consents as consent_records
from ..services.privacy import erasure, provisions, recipients, withdrawal
from ..services.privacy import requests as requests_service
from .bearer import configured, current_account, current_session, user_key
from .blueprints import rights_bp as bp
from .center_schemas import (
    ConsentsSchema,
    DeregisteredSchema,
    DeregisterInSchema,
    PrivacyRequestInSchema,
    PrivacyRequestSchema,
    ThirdPartyConsentInSchema,
)
from .errors import MESSAGES, ApiError
from .reauth import confirm_identity, filled_form, refuse_form
from .schemas import ErrorSchema

# --- consents -----------------------------------------------------------------------------------


def _name(kind: str) -> str:
    return str(consent_records.LABELS.get(kind, kind))


def consents_json(user) -> dict:
    """What is in force now (the Mini Program holds no cookie choice of its own) and every record."""
    active = withdrawal.in_force(user, functional_cookies_in_browser=False)
    return {
        "in_force": [
            {"kind": kind, "name": _name(kind), "withdrawable": kind in withdrawal.WITHDRAWABLE}
            for kind in consent_records.GENERAL
            if kind in active
        ],
        "history": [
            {
                "kind": record.kind,
                "name": _name(record.kind),
                "edition": record.policy_edition,
                "channel": record.source,
                "given_at": record.given_at,
                "confirmed": record.confirmed_at is not None,
                "withdrawn_at": record.withdrawn_at,
                "recipient_id": record.recipient_id,
            }
            for record in withdrawal.history(user)
        ],
        "third_parties": third_parties_json(user),
    }


def third_parties_json(user) -> list[dict]:
    """The website's list of recipients that need separate consent: who, what (by name), why,
    where, and whether the consent is given."""
    locale = get_locale()
    return [
        {
            "recipient_id": r.id,
            "name": r.name(locale),
            "purpose": r.purpose(locale),
            "categories": [recipients.pi_type_name(code) for code in r.categories],
            "location": (
                _("Mainland China") if r.in_mainland else recipients.country_name(r.country, locale)
            ),
            "outside_mainland": not r.in_mainland,
            "contact": r.contact,
            "in_use": choice.in_use,
            "given": choice.consent is not None,
            "given_at": choice.consent.given_at if choice.consent else None,
        }
        for choice in provisions.consent_choices(user)
        for r in [choice.recipient]
    ]


@bp.route("/consents", methods=["GET"])
@bp.signed_in
@no_store
@bp.response(200, ConsentsSchema)
def consent_list():
    """Consents in force, and every consent with its edition, channel and dates."""
    return consents_json(current_account())


@bp.route("/consents/<kind>/withdraw", methods=["POST"])
@bp.signed_in
@no_store
@bp.response(200, ConsentsSchema)
@bp.alt_response(404, schema=ErrorSchema, description="No such kind of consent")
@bp.alt_response(409, schema=ErrorSchema, description="not_withdrawable: deregister instead")
def consent_withdraw(kind: str):
    """Withdraw at once with what it implies (the website's rules); the policy and the age
    confirmation end only with the account (POST /deregistration)."""
    if kind not in consent_records.GENERAL:
        raise ApiError(404, "not_found")
    if kind not in withdrawal.WITHDRAWABLE:
        raise ApiError(
            409,
            "not_withdrawable",
            _(
                "This consent cannot be withdrawn here. Without it there is no account: "
                "deregister to withdraw it."
            ),
        )
    user = current_account()
    withdrawal.withdraw(user, kind)
    if kind == "cookies_functional":
        api_tokens.keep(current_session())  # every other sign-in ended; this device stays
    return consents_json(user)


# --- separate consent to a named third party (policy 4) ----------------------------------------


def _third_party_key() -> str:
    """The website's key: choices made on both channels count together."""
    return f"third-party-consent:{current_account().id}"


@bp.route("/consents/third-parties/<int:recipient_id>", methods=["POST"])
@bp.signed_in
@limiter.shared_limit("30 per hour", scope="third-party-consent", key_func=_third_party_key)
@no_store
@bp.arguments(ThirdPartyConsentInSchema)
@bp.response(200, ConsentsSchema)
@bp.alt_response(400, schema=ErrorSchema, description="agree_required, or not a JSON object")
@bp.alt_response(404, schema=ErrorSchema, description="No such recipient, or no longer used")
@bp.alt_response(409, schema=ErrorSchema, description="no_consent_needed: it asks for none")
@bp.alt_response(422, schema=ErrorSchema, description="`agree` is not a boolean")
@bp.alt_response(429, schema=ErrorSchema, description="Thirty choices an hour at most")
def third_party_give(body: dict, recipient_id: int):
    """Give the separate consent to one recipient in use, with the box ticked (`agree`), as on
    the website; it takes effect at once, and giving it again records nothing new."""
    if not body["agree"]:
        raise ApiError(400, "agree_required", fields={"agree": MESSAGES["agree_required"]})
    user = current_account()
    try:
        provisions.give_consent(user, recipient_id, request.remote_addr, source=CHANNEL)
    except provisions.ProvisionRefused as refused:
        if refused.code == "no_consent_needed":
            raise ApiError(409, "no_consent_needed") from None
        raise ApiError(404, "not_found") from None  # unknown, or ended
    return consents_json(user)


@bp.route("/consents/third-parties/<int:recipient_id>/withdraw", methods=["POST"])
@bp.signed_in
@limiter.shared_limit("30 per hour", scope="third-party-consent", key_func=_third_party_key)
@no_store
@bp.response(200, ConsentsSchema)
@bp.alt_response(404, schema=ErrorSchema, description="No such recipient")
@bp.alt_response(429, schema=ErrorSchema, description="Thirty choices an hour at most")
def third_party_withdraw(recipient_id: int):
    """Withdraw the consent to one recipient at once (an ended one too): nothing more of yours
    goes to it. As on the website, a recipient with no consent in force is no error: the list
    comes back unchanged."""
    if recipients.get(recipient_id) is None:
        raise ApiError(404, "not_found")
    user = current_account()
    provisions.withdraw_consent(user, recipient_id)
    return consents_json(user)


# --- deregistration -----------------------------------------------------------------------------


@bp.route("/deregistration", methods=["POST"])
@bp.signed_in
@limiter.limit(configured("LOGIN_LIMIT"))
@limiter.limit(configured("LOGIN_ACCOUNT_LIMIT"), key_func=user_key)
@no_store
@bp.arguments(DeregisterInSchema)
@bp.response(202, DeregisteredSchema)
@bp.alt_response(403, schema=ErrorSchema, description="reauth_required: give the password")
@bp.alt_response(422, schema=ErrorSchema, description="Not confirmed, or a wrong password")
@bp.alt_response(429, schema=ErrorSchema, description="Too many attempts")
def deregister(body: dict):
    """Close the account (re-authenticated, as on the website): the cooling-off starts, a mail
    can cancel it, every sign-in ends (this one too) and signing in is refused meanwhile."""
    if not body["confirm"]:
        raise ApiError(422, "invalid", fields={"confirm": _("Tick the box to confirm.")})
    confirm_identity(body.get("password"))
    user = current_account()
    erase_after = erasure.deregister(user)
    return {"erasure_date": erase_after, "erased": user.erased_at is not None}


# --- data-protection requests -------------------------------------------------------------------


def request_json(req) -> dict:
    reason = requests_service.DECLINE_REASONS.get(req.decline_reason or "")
    return {
        "id": req.public_id,
        "kind": req.kind,
        "kind_name": str(requests_service.KIND_LABELS.get(req.kind, req.kind)),
        "status": req.status,
        "status_name": str(requests_service.STATUS_LABELS.get(req.status, req.status)),
        "details": req.details,
        "processor": req.processor,
        "created_at": req.created_at,
        "due_on": req.due_on,
        "overdue": requests_service.is_overdue(req),
        "answer": req.answer,
        "answered_at": req.answered_at,
        "decline_reason": str(reason) if reason else None,
    }


@bp.route("/privacy-requests", methods=["GET"])
@bp.signed_in
@no_store
@bp.response(200, PrivacyRequestSchema(many=True))
def request_list():
    """The account's requests, newest first, with status, due date and answer."""
    return [request_json(r) for r in requests_service.for_user(current_account())]


def _per_account() -> str:
    """The website's key: requests filed on both channels count together."""
    return f"privacy-request:{current_account().id}"


@bp.route("/privacy-requests", methods=["POST"])
@bp.signed_in
@limiter.shared_limit("20 per day", scope="privacy-request", key_func=_per_account)
@no_store
@bp.arguments(PrivacyRequestInSchema)
@bp.response(201, PrivacyRequestSchema)
@bp.alt_response(
    422, schema=ErrorSchema, description="Unknown kind, or a transfer without its processor"
)
@bp.alt_response(429, schema=ErrorSchema, description="Twenty a day at most")
def request_file(body: dict):
    """File a request: verified by the sign-in, due in 15 working days, acknowledged by mail."""
    form = filled_form(RequestForm, body, needs_email=False)
    if not form.validate():
        raise refuse_form(form)
    req = requests_service.file_for_user(current_account(), form.draft(), current_language())
    return request_json(req)
