"""How Flask-Login finds the user: id plus a per-user token, so old sessions can be ended."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import undefer_group

from ..extensions import db, login_manager


def load_user(session_id: str):
    """`get_id()` is "<id>:<token>": a token changed by sign-out elsewhere ends this session."""
    from ..models import User

    user_id, _, token = (session_id or "").partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id), options=[undefer_group("banner")])
    if user is None or not user.is_active or user.session_token != token:
        return None
    return user


def configure_login(app: Flask) -> None:
    """Wire Flask-Login to the per-user session token and our translated messages."""
    login_manager.user_loader(load_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.needs_refresh_message = _l("Please confirm your password to continue.")
    login_manager.session_protection = "basic"
