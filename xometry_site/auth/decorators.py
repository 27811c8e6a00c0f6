"""Guards other features put on their views."""

from __future__ import annotations

import functools

from flask import current_app, redirect, request, url_for
from flask_login import current_user


def verified_required(view):
    """Only accounts with a verified address (or a WeChat account with a verified phone) may pass;
    others are sent to a page that explains why and offers a new link."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if not current_user.is_verified:
            target = request.full_path.rstrip("?") if request.method == "GET" else request.path
            return redirect(url_for("auth.verify_pending", next=target))
        return view(*args, **kwargs)

    return wrapped
