"""Sign-in (wx.login code → tokens), refresh, sign-out, registration and linking: thin views over
services/accounts/miniprogram_accounts.py and api_tokens.py."""

from __future__ import annotations

from flask import current_app, request

from ..extensions import limiter
from ..i18n import current_language
from ..services.accounts import api_tokens, miniprogram_accounts
from ..services.accounts.miniprogram_accounts import Client, MiniProgramAccountError
from ..services.accounts.wechat import WeChatError
from .bearer import configured, current_session
from .blueprints import session_bp as bp
from .errors import ApiError
from .schemas import (
    REQUIRED,
    ErrorSchema,
    LinkInSchema,
    RefreshInSchema,
    RegisterInSchema,
    SessionInSchema,
    TokensSchema,
)

ACCOUNT_ERRORS = {  # MiniProgramAccountError kind → HTTP status
    "inactive": 403,
    "registered": 409,
    "link_required": 409,
    "phone_in_use": 409,
    "nothing_to_link": 409,
    "password_required": 403,
    "wrong_password": 403,
    "identity_taken": 409,
    "other_wechat": 409,
}


def _client() -> Client:
    return Client(request.remote_addr, request.user_agent.string, current_language())


def _tokens(issued: api_tokens.IssuedTokens, registered: bool) -> dict:
    return {
        "access_token": issued.access_token,
        "refresh_token": issued.refresh_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "registered": registered,
    }


def _wechat_failed(error: WeChatError, *, phone: bool = False) -> ApiError:
    """What the device can do about a WeChat refusal: try again, or wait."""
    if error.kind in ("code_invalid", "code_used", "code_expired", "refused"):
        return ApiError(400, "phone_code_invalid" if phone else "code_invalid")
    if error.kind == "not_mobile":
        return ApiError(400, "not_mobile")
    if error.kind == "bad_config":
        return ApiError(503, "wechat_not_configured")
    seconds = str(current_app.config.get("RETRY_AFTER_SECONDS") or 30)
    return ApiError(503, "wechat_unavailable", headers={"Retry-After": seconds})


def _account_failed(error: MiniProgramAccountError) -> ApiError:
    extra = {}
    if error.kind == "link_required":
        owner = miniprogram_accounts.link_offer(current_session())
        extra["link"] = {"methods": miniprogram_accounts.link_methods(owner) if owner else []}
    return ApiError(ACCOUNT_ERRORS.get(error.kind, 409), error.kind, **extra)


@bp.route("/session", methods=["POST"])
@limiter.limit(configured("API_SIGN_IN_LIMIT"))
@bp.arguments(SessionInSchema)
@bp.response(200, TokensSchema)
@bp.alt_response(400, schema=ErrorSchema, description="WeChat refused the code")
@bp.alt_response(403, schema=ErrorSchema, description="The account was deregistered")
@bp.alt_response(429, schema=ErrorSchema, description="Too many sign-ins")
@bp.alt_response(503, schema=ErrorSchema, description="WeChat is not answering")
def create_session(body: dict):
    """Sign in with the code of `wx.login`; `registered` false means: register next."""
    try:
        signed = miniprogram_accounts.sign_in(current_app.config, body["code"], _client())
    except WeChatError as error:
        raise _wechat_failed(error) from None
    except MiniProgramAccountError as error:
        raise ApiError(403, error.kind) from None
    return _tokens(signed.tokens, signed.registered)


@bp.route("/session/refresh", methods=["POST"])
@limiter.limit(configured("API_REFRESH_LIMIT"))
@bp.arguments(RefreshInSchema)
@bp.response(200, TokensSchema)
@bp.alt_response(401, schema=ErrorSchema, description="Unknown, spent or expired")
@bp.alt_response(429, schema=ErrorSchema, description="Too many refreshes")
def refresh_session(body: dict):
    """New tokens for the refresh token, which is spent (presenting it again ends the sign-in)."""
    try:
        issued = api_tokens.rotate(body["refresh_token"])
    except api_tokens.TokenRefused as refused:
        code = "token_expired" if refused.reason == "expired" else "unauthorized"
        raise ApiError(401, code) from None
    return _tokens(issued, issued.session.user_id is not None)


@bp.route("/session", methods=["DELETE"])
@bp.registering
@bp.response(204)
def delete_session():
    """Sign this device out: its tokens stop working at once."""
    api_tokens.revoke(current_session())


@bp.route("/register", methods=["POST"])
@bp.registering
@limiter.limit(configured("REGISTER_LIMIT"))
@bp.arguments(RegisterInSchema)
@bp.response(201, TokensSchema)
@bp.alt_response(400, schema=ErrorSchema, description="Consents missing, or WeChat refused")
@bp.alt_response(409, schema=ErrorSchema, description="The phone has an account: link_required")
@bp.alt_response(429, schema=ErrorSchema, description="Too many registrations")
@bp.alt_response(503, schema=ErrorSchema, description="WeChat is not answering")
def register(body: dict):
    """First sign-in: the phone from the phone-number button, the policy and adult consents."""
    if not (body["accept_policy"] and body["confirm_adult"]):
        fields = {name: REQUIRED for name in ("accept_policy", "confirm_adult") if not body[name]}
        raise ApiError(400, "consent_required", fields=fields)
    row = current_session()
    try:
        issued = miniprogram_accounts.register(
            current_app.config, row, body["phone_code"], _client()
        )
    except WeChatError as error:
        raise _wechat_failed(error, phone=True) from None
    except MiniProgramAccountError as error:
        raise _account_failed(error) from None
    return _tokens(issued, True)


def _link_account_key() -> str:
    row = current_session()
    return f"api-link:{row.link_user_id if row is not None else '-'}"


@bp.route("/link", methods=["POST"])
@bp.registering
@limiter.limit(configured("LOGIN_LIMIT"))
@limiter.limit(configured("LOGIN_ACCOUNT_LIMIT"), key_func=_link_account_key)
@bp.arguments(LinkInSchema)
@bp.response(200, TokensSchema)
@bp.alt_response(403, schema=ErrorSchema, description="Password required or wrong")
@bp.alt_response(409, schema=ErrorSchema, description="Nothing to link, or WeChat bound elsewhere")
@bp.alt_response(429, schema=ErrorSchema, description="Too many attempts")
def link(body: dict):
    """Link this WeChat to the account that holds the phone WeChat proved (after link_required)."""
    if not body["confirm"]:
        raise ApiError(400, "invalid", fields={"confirm": REQUIRED})
    try:
        issued = miniprogram_accounts.link(current_session(), body.get("password"), _client())
    except MiniProgramAccountError as error:
        raise _account_failed(error) from None
    return _tokens(issued, True)
