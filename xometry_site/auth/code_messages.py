"""What a visitor is told about an SMS code that did not prove the phone (every code form)."""

from __future__ import annotations

from flask_babel import gettext as _

from ..services.accounts.phone_codes import PhoneCodeError


def code_error(error: PhoneCodeError) -> str:
    """What to tell about a code that did not prove the phone."""
    if error.kind == "wrong":
        return _(
            "This code is not right. You can try %(count)s more times.", count=error.attempts_left
        )
    if error.kind == "exhausted":
        return _("Too many wrong codes. Please ask for a new code.")
    if error.kind == "expired":
        return _("This code has expired. Please ask for a new code.")
    return _("Please ask for a code for this number first.")
