"""What a visitor is told when a WeChat sign-in does not work, in their language, with a way on."""

from __future__ import annotations

from flask import render_template, url_for
from flask_babel import lazy_gettext as _l

from .wechat_session import Flow

# kind → (HTTP status, title, explanation)
FAILURES = {
    "state": (
        400,
        _l("This WeChat sign-in could not be matched to your visit"),
        _l(
            "The sign-in page may have been open too long, opened in another browser, or used "
            "already. Nothing was changed. Please start the WeChat sign-in again."
        ),
    ),
    "refused": (
        200,
        _l("WeChat sign-in was cancelled"),
        _l(
            "You did not confirm the sign-in in WeChat. You can try again, or sign in with your "
            "e-mail address and password."
        ),
    ),
    "code_used": (
        200,
        _l("This WeChat confirmation has already been used"),
        _l(
            "If you have just signed in (for example after clicking twice), simply continue. "
            "Otherwise, please start the WeChat sign-in again."
        ),
    ),
    "code_invalid": (
        400,
        _l("This WeChat confirmation is no longer valid"),
        _l(
            "A WeChat confirmation can be used only once and only for a few minutes. "
            "Please scan the QR code again."
        ),
    ),
    "code_expired": (
        400,
        _l("This WeChat confirmation has expired"),
        _l("A WeChat confirmation is valid for a few minutes only. Please scan the QR code again."),
    ),
    "unreachable": (
        503,
        _l("WeChat is not answering"),
        _l(
            "We could not reach WeChat just now. Please try again in a moment, or sign in with "
            "your e-mail address and password."
        ),
    ),
    "bad_config": (
        503,
        _l("WeChat sign-in is unavailable"),
        _l(
            "WeChat sign-in is not working on our side at the moment; we have logged it. Please "
            "sign in with your e-mail address and password, or try again later."
        ),
    ),
    "other": (
        502,
        _l("WeChat sign-in did not work"),
        _l(
            "WeChat gave an answer we could not use. Please try again, or sign in with your "
            "e-mail address and password."
        ),
    ),
    "inactive": (
        403,
        _l("This account has been closed"),
        _l(
            "The WeChat account you used belongs to an account that was deregistered. If you "
            "think this is a mistake, please write to us."
        ),
    ),
    "reauth_mismatch": (
        403,
        _l("That was a different WeChat account"),
        _l("To confirm it is you, please scan with the WeChat account bound to this account."),
    ),
}

ACCOUNT_ERRORS = {
    "phone_taken": _l(
        "This mobile number already belongs to an account. Please sign in to that account with "
        "a code sent to this number (or with its e-mail address and password), then bind WeChat "
        "under Account Details → WeChat. We never merge accounts automatically."
    ),
    "identity_taken": _l(
        "This WeChat account is already bound to another Xometry Asia account. Sign in to that "
        "account and unbind it there first, or use a different WeChat account."
    ),
    "other_wechat": _l(
        "Your account is already bound to a different WeChat account. Unbind it first."
    ),
    "last_method": _l(
        "WeChat is the only way you can sign in to this account, so it cannot be unbound. "
        "Add a sign-in e-mail address and a password first."
    ),
    "not_bound": _l("No WeChat account is bound to your account."),
    "inactive": FAILURES["inactive"][2],
}


def account_error(kind: str) -> str:
    """The explanation of a WeChatAccountError kind."""
    return str(ACCOUNT_ERRORS.get(kind, FAILURES["other"][2]))


def failure_page(kind: str, flow: Flow | None):
    """The error page: what happened, "try again" (same purpose and next), other ways in."""
    status, title, message = FAILURES.get(kind, FAILURES["other"])
    purpose = flow.purpose if flow else "login"
    next_url = flow.next if flow else None
    retry_url = url_for("auth.wechat_login", purpose=purpose, next=next_url)
    if purpose == "login":
        retry_url = url_for("auth.wechat_login", next=next_url)
    continue_url = flow.destination if flow and kind == "code_used" else None
    return render_template(
        "auth/wechat_error.html",
        kind=kind,
        title=title,
        message=message,
        retry_url=retry_url,
        continue_url=continue_url,
        purpose=purpose,
    ), status
