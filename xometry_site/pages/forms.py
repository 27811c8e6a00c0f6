"""Forms of the public pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SubmitField


class CookieBannerForm(FlaskForm):
    """The banner: two equally easy buttons."""

    next = HiddenField()
    accept_all = SubmitField(_l("Accept all"))
    necessary_only = SubmitField(_l("Necessary only"))


class CookieSettingsForm(FlaskForm):
    """The /cookies page: one box per optional category."""

    functional = BooleanField(_l("Functional cookies: keep me signed in on this device"))
    submit = SubmitField(_l("Save my choice"))
