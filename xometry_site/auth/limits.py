"""Throttles for the account forms: one limit per IP and one per account, limits read from config.

Only attempts that fail (or, for registration and forgotten passwords, that would send mail) count,
so people behind one company NAT are not locked out by their colleagues' successful sign-ins. The
per-account key is an HMAC of the normalised address: the limiter's own log lines never show it.

Text messages have their own pair, shared by every route that sends a code (WeChat sign-up, SMS
sign-in, re-authentication, confirming a phone): texts per number and sends per IP, and code
tries per IP and wrong codes per number. A number counts however it is typed, keyed by its HMAC.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app, g, request
from flask_limiter.util import get_remote_address
from flask_login import current_user

from ..extensions import limiter
from ..services.accounts.registration import normalize_email
from ..services.validators import InvalidPhone, normalize_phone

DEFAULTS = {
    "LOGIN_LIMIT": "10 per minute; 50 per hour",
    "LOGIN_ACCOUNT_LIMIT": "10 per minute; 30 per hour",
    "REGISTER_LIMIT": "10 per minute; 30 per hour",
    "REGISTER_ACCOUNT_LIMIT": "5 per hour; 10 per day",
    "FORGOT_LIMIT": "5 per minute; 20 per hour",
    "FORGOT_ACCOUNT_LIMIT": "3 per 15 minutes; 10 per day",
    "RESET_LIMIT": "10 per minute; 30 per hour",
    "RESET_ACCOUNT_LIMIT": "10 per hour",
    "RESEND_LIMIT": "3 per minute; 10 per hour",
    "RESEND_ACCOUNT_LIMIT": "3 per 10 minutes; 10 per day",
    "STAFF_CODE_LIMIT": "10 per minute; 30 per hour",
    "STAFF_CODE_ACCOUNT_LIMIT": "5 per minute; 15 per hour",
    "SMS_LIMIT_PER_PHONE": "1 per minute; 5 per hour; 10 per day",
    "SMS_LIMIT_PER_IP": "10 per hour; 30 per day",
    "SMS_CODE_LIMIT": "20 per 10 minutes; 60 per day",
    "SMS_CODE_PHONE_LIMIT": "10 per hour; 20 per day",
}


def _setting(name: str):
    return lambda: current_app.config.get(name) or DEFAULTS[name]


def _pseudonym(value: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode("utf-8")
    return hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()[:24]


def submitted_account_key() -> str:
    """The account a form names by its `email` field, the same however it is spelt."""
    return "account:" + _pseudonym(normalize_email(request.form.get("email", "")))


def no_submitted_email() -> bool:
    """Without an address there is no account to count against."""
    return not normalize_email(request.form.get("email", ""))


def signed_in_account_key() -> str:
    """Forms of a signed-in user are counted per account, else per address."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return "ip:" + (get_remote_address() or "-")


def reset_link_key() -> str:
    """A reset link belongs to one account; its token stands for it (the view checks the rest)."""
    token = (request.view_args or {}).get("token", "")
    return "reset:" + _pseudonym(token)


def submitted_phone_key() -> str:
    """The number a form names by its `phone` field, the same however it is typed."""
    try:
        phone = normalize_phone(request.form.get("phone", ""), allow_landline=False)
    except InvalidPhone:
        return "phone:invalid"  # nothing is sent to it, so nothing is counted against it
    return "phone:" + _pseudonym(phone)


def account_phone_key() -> str:
    """The signed-in account's own number (re-authentication by code), never a posted one."""
    phone = current_user.phone if current_user.is_authenticated else None
    return "phone:" + _pseudonym(phone) if phone else signed_in_account_key()


def mark_sms_sent() -> None:
    """The view calls this once a text went out: it counts against the number's allowance."""
    g.sms_sent = True


def mark_code_refused() -> None:
    """A code that did not prove the number: it counts against the number's wrong codes."""
    g.sms_code_refused = True


def mark_attempt_counted() -> None:
    """The view calls this when the request should count against the throttles."""
    g.auth_attempt_counted = True


def _counted(response) -> bool:
    return bool(g.get("auth_attempt_counted"))


def _sms_sent(response) -> bool:
    return bool(g.get("sms_sent"))


def _code_refused(response) -> bool:
    return bool(g.get("sms_code_refused"))


def _limit(setting: str, **kwargs):
    return limiter.limit(_setting(setting), methods=["POST"], deduct_when=_counted, **kwargs)


def _both(per_ip, per_account):
    def decorate(view):
        return per_ip(per_account(view))

    return decorate


login_throttle = _both(
    _limit("LOGIN_LIMIT"),
    _limit("LOGIN_ACCOUNT_LIMIT", key_func=submitted_account_key, exempt_when=no_submitted_email),
)
register_throttle = _both(
    _limit("REGISTER_LIMIT"),
    _limit(
        "REGISTER_ACCOUNT_LIMIT", key_func=submitted_account_key, exempt_when=no_submitted_email
    ),
)
forgot_throttle = _both(
    _limit("FORGOT_LIMIT"),
    _limit("FORGOT_ACCOUNT_LIMIT", key_func=submitted_account_key, exempt_when=no_submitted_email),
)
reset_throttle = _both(
    _limit("RESET_LIMIT"), _limit("RESET_ACCOUNT_LIMIT", key_func=reset_link_key)
)
resend_throttle = _both(
    _limit("RESEND_LIMIT"), _limit("RESEND_ACCOUNT_LIMIT", key_func=signed_in_account_key)
)
reauth_throttle = _both(
    _limit("LOGIN_LIMIT"), _limit("LOGIN_ACCOUNT_LIMIT", key_func=signed_in_account_key)
)
# a wrong second-factor code of a staff account: a million codes must not be tried by brute force
staff_code_throttle = _both(
    _limit("STAFF_CODE_LIMIT"), _limit("STAFF_CODE_ACCOUNT_LIMIT", key_func=signed_in_account_key)
)


def _shared(setting: str, scope: str, **kwargs):
    return limiter.shared_limit(_setting(setting), scope=scope, methods=["POST"], **kwargs)


def sms_send_throttle(phone_key, *, unless=None):
    """Sending a code: every try per IP, and per number only the texts sent (mark_sms_sent).
    `unless` exempts the requests of a route that do something else (e.g. enter the code)."""
    return _both(
        _shared("SMS_LIMIT_PER_IP", "sms-send-ip", exempt_when=unless),
        _shared(
            "SMS_LIMIT_PER_PHONE",
            "sms-send-phone",
            key_func=phone_key,
            deduct_when=_sms_sent,
            exempt_when=unless,
        ),
    )


def sms_code_throttle(phone_key, *, unless=None):
    """Entering a code: every try per IP, and per number the wrong ones (mark_code_refused), on
    top of the five tries each code allows."""
    return _both(
        _shared("SMS_CODE_LIMIT", "sms-code-ip", exempt_when=unless),
        _shared(
            "SMS_CODE_PHONE_LIMIT",
            "sms-code-phone",
            key_func=phone_key,
            deduct_when=_code_refused,
            exempt_when=unless,
        ),
    )
