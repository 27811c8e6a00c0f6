"""Forms of the public pages."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, SubmitField

from ..forms import SiteForm


class SessionlessForm(SiteForm):
    """A form on a public page, posted without a session and so without a CSRF token: its view
    checks where the request came from instead (security.same_origin_only)."""

    class Meta:
        csrf = False


class CookieBannerForm(SessionlessForm):
    """The banner: two equally easy buttons."""

    next = HiddenField()
    accept_all = SubmitField(_l("Accept all"))
    necessary_only = SubmitField(_l("Necessary only"))


class CookieSettingsForm(SessionlessForm):
    """The /cookies page: one box per optional category."""

    functional = BooleanField(_l("Functional cookies: keep me signed in on this device"))
    submit = SubmitField(_l("Save my choice"))
