"""Who may request quotes: signed-in users whose e-mail or phone is verified."""

from __future__ import annotations

import functools

from flask import render_template
from flask_login import current_user, login_required

try:  # the auth feature's decorator, once it exists
    from ..auth.decorators import verified_required  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - until auth lands

    def verified_required(view):
        """Signed in and verified; an unverified account is told to verify first (403)."""

        @functools.wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.is_verified:
                return render_template("quotes/verify_first.html"), 403
            return view(*args, **kwargs)

        return wrapped


__all__ = ["verified_required"]
