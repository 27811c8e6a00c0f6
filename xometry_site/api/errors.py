"""Every API error as JSON `{"error": {"code", "message"}}`, the message in the caller's language.

The site's error handlers (errors.py) hand anything under the API's prefix to `http_error`,
`server_error` and `unavailable`, so a routing 404, a 405, a 413, a 429 from the limiter and an
unhandled exception answer in the same shape as the views' own `ApiError`s. Validation errors
(422) add `fields`: each field's message, translated by the schemas (api/schemas.py).
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

PREFIX = "/api/mp/v1"

MESSAGES: dict[str, Any] = {
    "bad_request": _l("The request was not understood. Please check what was sent."),
    "invalid": _l("Some values are missing or not valid."),
    "unauthorized": _l("Please sign in again."),
    "token_expired": _l("Your sign-in has expired. Please sign in again."),
    "forbidden": _l("You may not do this."),
    "registration_required": _l("Please finish registering first."),
    "not_found": _l("Not found. It does not exist or is not yours."),
    "method_not_allowed": _l("This address cannot be used that way."),
    "too_large": _l("What you sent is larger than we accept. Nothing was stored."),
    "unsupported_media_type": _l("Please send JSON (Content-Type: application/json)."),
    "rate_limited": _l("You have tried this too often. Please wait a few minutes and try again."),
    "server_error": _l(
        "An error occurred on our side. It has been logged; please try again later."
    ),
    "unavailable": _l(
        "Part of our service is not answering right now. Nothing you saved is lost. "
        "Please try again in a minute."
    ),
    # sign-in and registration
    "code_invalid": _l(
        "The WeChat sign-in code is not valid or was already used. Please try again."
    ),
    "phone_code_invalid": _l(
        "WeChat did not confirm the phone number (the code is not valid or was already used). "
        "Please tap the button again."
    ),
    "not_mobile": _l("Please use a mobile number of mainland China."),
    "wechat_unavailable": _l("WeChat is not answering right now. Please try again in a minute."),
    "wechat_not_configured": _l("Signing in with WeChat is not available right now."),
    "inactive": _l(
        "This account was deregistered. The confirmation e-mail tells you how to keep it while "
        "the cooling-off period lasts."
    ),
    "consent_required": _l(
        "Please accept the Data Protection Policy and confirm that you are 18 or older."
    ),
    "registered": _l("You are already registered."),
    "link_required": _l(
        "This phone number already has an account. Link this WeChat to that account?"
    ),
    "phone_in_use": _l(
        "This phone number belongs to another account that cannot be linked here. Please sign "
        "in on the website or contact us."
    ),
    "nothing_to_link": _l("There is no account to link. Please register again."),
    "password_required": _l("Please enter the password of that account to link it."),
    "wrong_password": _l("That is not the password of that account."),
    "identity_taken": _l("This WeChat account is already bound to another account."),
    "other_wechat": _l("That account is already bound to a different WeChat account."),
    # quotes and uploads
    "no_file": _l("Please choose a file to upload."),
    # separate consent to a third party (the website's words)
    "agree_required": _l("Tick the box to give your consent."),
    "no_consent_needed": _l(
        "This recipient does not ask for your consent (any more). Nothing was recorded."
    ),
}


class ApiError(Exception):
    """Raised by API views: answered as JSON with this status, code and (translated) message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: Any = None,
        *,
        fields: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers or {}
        self.extra = extra


def is_api_request() -> bool:
    """Whether this request is the API's (routed or not: a 404 under the prefix is ours too)."""
    path = request.path
    return path == PREFIX or path.startswith(PREFIX + "/")


def error_response(
    status: int,
    code: str,
    message: Any = None,
    *,
    fields: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """The JSON error body; never a stack trace, never cached."""
    body: dict[str, Any] = {"code": code, "message": str(message or MESSAGES.get(code, code))}
    if fields:
        body["fields"] = {name: _text(value) for name, value in fields.items()}
    response = jsonify({"error": body, **extra})
    response.status_code = status
    response.headers.update(headers or {})
    response.headers["Cache-Control"] = "no-store"
    return response


def _text(value: Any) -> Any:
    """A field's messages as text (lazy strings translated now), nested fields kept nested."""
    if isinstance(value, dict):
        return {str(k): _text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return " ".join(str(_text(v)) for v in value)
    return str(value)


def api_error(error: ApiError) -> Response:
    return error_response(
        error.status,
        error.code,
        error.message,
        fields=error.fields,
        headers=error.headers,
        **error.extra,
    )


CODE_OF_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


def http_error(error: HTTPException) -> Response:
    """An HTTP error under the API's prefix. webargs (through flask-smorest) puts a body's
    validation errors on `error.data["messages"]` as {location: {field: [messages]}}."""
    status = error.code or 500
    if status >= 500:
        return server_error() if status != 503 else unavailable()
    code = CODE_OF_STATUS.get(status, "bad_request")
    fields = None
    data = getattr(error, "data", None)
    if status == 422 and isinstance(data, dict) and isinstance(data.get("messages"), dict):
        fields = {}
        for location in data["messages"].values():
            if isinstance(location, dict):
                fields.update(location)
        if "_schema" in fields:  # the body as a whole (not an object, invalid JSON)
            fields.pop("_schema")
            code = "bad_request"
            status = 400
    headers = {}
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    return error_response(status, code, fields=fields or None, headers=headers)


def server_error() -> Response:
    return error_response(500, "server_error")


def unavailable() -> Response:
    seconds = str(current_app.config.get("RETRY_AFTER_SECONDS") or 30)
    return error_response(503, "unavailable", headers={"Retry-After": seconds})
