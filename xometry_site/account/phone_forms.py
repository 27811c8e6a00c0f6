"""Forms of the phone page: the number to confirm, then the code sent to it."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..forms import SiteForm, mobile_field, sms_code_field


class PhoneForm(SiteForm):
    """The number to confirm (the one typed at registration, or a new one)."""

    phone = mobile_field(_l("Your mobile phone number"))


class PhoneCodeForm(PhoneForm):
    """The number again (a hidden field) and the code sent to it."""

    code = sms_code_field()
