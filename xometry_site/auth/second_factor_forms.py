"""Forms of the staff second factor: a code from the authenticator app, or a recovery code."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from ..forms import SiteForm, nfkc_strip


class StaffCodeForm(SiteForm):
    """Six digits from the app; at sign-in a recovery code (xxxx-xxxx-xxxx-xxxx) works too."""

    code = StringField(
        _l("Code"),
        [
            InputRequired(_l("Please enter the code.")),
            Length(max=40, message=_l("Please enter the code.")),
        ],
        filters=[nfkc_strip],  # full-width digits from a Chinese input method,
    )
