"""How Flask-Login finds the user: id plus a per-user token, so old sessions can be ended."""

from __future__ import annotations

from functools import lru_cache

from flask import Flask, g
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.orm import undefer_group

from ..extensions import db, login_manager
from ..log_setup import SIGNED_IN_USER_KEY


@lru_cache(maxsize=1)
def _user_by_id():
    """Built once: SQLAlchemy works out the cache key of a new statement (and this one has the
    banner's subqueries) on every call, a third of loading the user on each signed-in page."""
    from ..models import User

    return select(User).options(undefer_group("banner")).where(User.id == bindparam("user_id"))


def load_user(session_id: str):
    """`get_id()` is "<id>:<token>": a token changed by sign-out elsewhere ends this session."""
    user_id, _, token = (session_id or "").partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.scalars(_user_by_id(), {"user_id": int(user_id)}).one_or_none()
    if user is None or not user.is_active or user.session_token != token:
        return None
    g.setdefault(SIGNED_IN_USER_KEY, user.id)  # for the access log, which must never query
    return user


def configure_login(app: Flask) -> None:
    """Wire Flask-Login to the per-user session token and our translated messages."""
    login_manager.user_loader(load_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.needs_refresh_message = _l("Please confirm your password to continue.")
    login_manager.session_protection = "basic"
