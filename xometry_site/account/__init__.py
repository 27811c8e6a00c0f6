"""Blueprint: the Personal Center ("Account Details") under /account, plus the public
one-click unsubscribe page at /unsubscribe/<token> (its own small blueprint, registered with it)."""

from flask import Blueprint

bp = Blueprint("account", __name__)
mailing_bp = Blueprint("mailing", __name__)


@bp.record_once
def _register_mailing(state) -> None:
    """/unsubscribe must work without signing in and outside /account: mount it at the root."""
    state.app.register_blueprint(mailing_bp)


from . import (  # noqa: E402,F401
    address_views,
    invoice_views,
    notification_views,
    phone_views,
    subscription_views,
    views,
    wechat_views,
)
