"""Personal Center edits from the Mini Program: account information, password, invoice details
and the newsletter — the website's forms for the rules, the website's services for the work."""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _

from ..account.forms import ProfileForm
from ..account.invoice_forms import InvoiceForm
from ..auth.forms import password_message
from ..extensions import limiter
from ..i18n import current_language
from ..security import no_store
from ..services.accounts import api_tokens, invoicing, profile, subscriptions
from ..services.accounts.miniprogram_accounts import CHANNEL
from ..services.accounts.passwords import PasswordRejected
from .account_views import invoice_json, me_json
from .bearer import current_account, current_session
from .blueprints import center_bp as bp
from .center_schemas import (
    InvoiceInSchema,
    PasswordInSchema,
    ProfileInSchema,
    SubscriptionInSchema,
)
from .errors import ApiError
from .reauth import confirm_identity, filled_form, refuse_form
from .schemas import ErrorSchema, InvoiceSchema, MeSchema, SubscriptionSchema

PROFILE_FIELDS = ("name", "job_title", "customer_type", "invoice_email", "preferred_language")


@bp.route("/me", methods=["PATCH"])
@bp.signed_in
@no_store
@bp.arguments(ProfileInSchema)
@bp.response(200, MeSchema)
@bp.alt_response(422, schema=ErrorSchema, description="A field is not valid")
def me_update(body: dict):
    """Correct the account information; fields left out keep their value."""
    user = current_account()
    values = {name: body.get(name, getattr(user, name)) for name in PROFILE_FIELDS}
    form = filled_form(ProfileForm, values)
    if not form.validate():
        raise refuse_form(form)
    profile.update_profile(
        user,
        profile.ProfileData(
            name=form.name.data,
            job_title=form.job_title.data,
            customer_type=form.customer_type.data,
            invoice_email=form.invoice_email.data,
            preferred_language=form.preferred_language.data,
        ),
    )
    return me_json(user)


def _password_key() -> str:
    """The website's key: password attempts on both channels count together."""
    return f"account-password:{current_account().id}"


@bp.route("/me/password", methods=["POST"])
@bp.signed_in
@limiter.shared_limit("10 per hour", scope="account-password", key_func=_password_key)
@no_store
@bp.arguments(PasswordInSchema)
@bp.response(204)
@bp.alt_response(403, schema=ErrorSchema, description="reauth_required: no password, old sign-in")
@bp.alt_response(422, schema=ErrorSchema, description="Wrong current password, or a weak one")
@bp.alt_response(429, schema=ErrorSchema, description="Too many attempts")
def password_change(body: dict):
    """Change the password (the current one required), or set a first one after a recent
    sign-in; every other sign-in ends, this device stays signed in."""
    user = current_account()
    current = body.get("current_password")
    if user.has_password and not current:
        raise ApiError(
            422, "invalid", fields={"current_password": _("That is not your current password.")}
        )
    if not user.has_password:
        confirm_identity(None)  # the website's reauth_required: a fresh sign-in
    if not body["new_password"]:
        raise ApiError(422, "invalid", fields={"new_password": _("Please enter a new password.")})
    try:
        profile.change_password(user, current, body["new_password"], lang=current_language())
    except profile.WrongPassword:
        raise ApiError(
            422, "invalid", fields={"current_password": _("That is not your current password.")}
        ) from None
    except PasswordRejected as rejected:
        raise ApiError(
            422, "invalid", fields={"new_password": password_message(rejected)}
        ) from None
    api_tokens.keep(current_session())


@bp.route("/invoice", methods=["PUT"])
@bp.signed_in
@no_store
@bp.arguments(InvoiceInSchema)
@bp.response(200, InvoiceSchema)
@bp.alt_response(403, schema=ErrorSchema, description="reauth_required: give the password")
@bp.alt_response(422, schema=ErrorSchema, description="A field is missing or not valid")
def invoice_save(body: dict):
    """Save the invoice details with the website's rules (re-authenticated, as the website asks:
    they hold the bank account); a national ID number needs `consent_sensitive`."""
    confirm_identity(body.pop("password", None))
    form = filled_form(InvoiceForm, {"fapiao_type": "normal", **body})
    form.fill_division_choices(current_language())
    if not form.validate():
        raise refuse_form(form)
    try:
        saved = invoicing.save(
            current_account(),
            form.invoice_data(),
            consent_given=bool(form.consent_sensitive.data),
            ip=request.remote_addr,
            source=CHANNEL,
        )
    except invoicing.SensitiveConsentMissing:
        raise ApiError(
            422, "invalid", fields={"consent_sensitive": invoicing.SENSITIVE_CONSENT_MESSAGE}
        ) from None
    return invoice_json(saved)


@bp.route("/invoice", methods=["DELETE"])
@bp.signed_in
@no_store
@bp.response(204)
@bp.alt_response(404, schema=ErrorSchema, description="No invoice details saved")
def invoice_remove():
    """Delete the invoice details (no re-authentication, as on the website: it only removes)."""
    if not invoicing.delete(current_account()):
        raise ApiError(404, "not_found")


@bp.route("/subscriptions", methods=["GET"])
@bp.signed_in
@no_store
@bp.response(200, SubscriptionSchema)
def subscription_state():
    """ "subscribed", "pending" (the confirmation mail is not opened yet) or "none"."""
    return {"state": subscriptions.state(current_account())}


@bp.route("/subscriptions", methods=["PUT"])
@bp.signed_in
@no_store
@bp.arguments(SubscriptionInSchema)
@bp.response(200, SubscriptionSchema)
@bp.alt_response(409, schema=ErrorSchema, description="email_required: no address to mail")
def subscription_update(body: dict):
    """Subscribing mails a confirmation link (double opt-in); unsubscribing is immediate."""
    user = current_account()
    state = subscriptions.state(user)
    if body["subscribed"] and state == "none":
        if not user.email:
            raise ApiError(
                409,
                "email_required",
                _("The newsletter is sent by e-mail: add an e-mail address on the website first."),
            )
        subscriptions.subscribe(user, ip=request.remote_addr, source=CHANNEL)
    elif not body["subscribed"] and state != "none":
        subscriptions.unsubscribe(user)
    return {"state": subscriptions.state(user)}
