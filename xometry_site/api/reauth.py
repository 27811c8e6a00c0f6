"""Re-authentication before sensitive changes, and the website's forms as the API's rule book.

The website asks for the password again, or accepts a sign-in a few minutes old (REAUTH_MAX_AGE),
where a WeChat sign-in counts as a fresh proof. The Mini Program has the same two ways: the
account's password in the body, or a sign-in (wx.login → POST /session) newer than REAUTH_MAX_AGE;
refreshing tokens proves nothing. An SMS code is the website's third way; the Mini Program gets
the same freshness from a silent wx.login instead.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from ..services.accounts import api_tokens
from .bearer import current_account, current_session
from .errors import ApiError

log = logging.getLogger(__name__)


def reauth_required() -> ApiError:
    return ApiError(
        403,
        "reauth_required",
        _(
            "Please confirm it is you: enter your password, or sign in again "
            "(your last sign-in was too long ago)."
        ),
    )


def confirm_identity(password: str | None) -> None:
    """Pass, or raise: 422 for a wrong password, 403 `reauth_required` without a fresh proof."""
    user = current_account()
    if password:
        if user.has_password and user.check_password(password):
            return
        log.info("auth.reauth_failed method=api user=%s", user.id)
        raise ApiError(422, "invalid", fields={"password": _("This password is not correct.")})
    if api_tokens.signed_in_recently(current_session(), current_app.config["REAUTH_MAX_AGE"]):
        return
    raise reauth_required()


def filled_form(form_class: type, values: dict[str, Any], **kwargs: Any):
    """One of the website's forms, filled from a JSON body (no CSRF: bearer tokens only)."""
    data = MultiDict({k: v for k, v in values.items() if v is not None and v != ""})
    return form_class(formdata=data, meta={"csrf": False}, **kwargs)


def refuse_form(form) -> ApiError:
    """A 422 with the form's messages per field, in the caller's language."""
    fields = {name: errors for name, errors in form.errors.items() if errors}
    return ApiError(422, "invalid", fields=fields or None)
