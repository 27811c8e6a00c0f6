"""Personal Center → WeChat: see whether a WeChat account is bound, bind one, unbind it."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth.wechat_forms import UnbindForm
from ..auth.wechat_messages import account_error
from ..security import no_store
from ..services.accounts import wechat_accounts
from ..services.accounts.wechat_accounts import WeChatAccountError
from . import bp


def _page(status: int = 200):
    """The binding page: the first identity bound (if any) and whether it may be unbound."""
    rows = sorted(current_user.wechat_identities, key=lambda row: row.created_at)
    return render_template(
        "account/wechat.html",
        identity=rows[0] if rows else None,
        can_unbind=wechat_accounts.has_other_sign_in(current_user),
        form=UnbindForm(),
    ), status


@bp.get("/wechat")
@no_store
@login_required
def wechat():
    """Bound or not; the bind button starts /auth/wechat/login?purpose=bind."""
    return _page()


@bp.post("/wechat/unbind")
@no_store
@login_required
def wechat_unbind():
    """Remove the WeChat binding, unless it is the account's last way to sign in."""
    if UnbindForm().validate_on_submit():
        try:
            wechat_accounts.unbind(current_user._get_current_object())
        except WeChatAccountError as error:
            flash(account_error(error.kind), "error")
            return _page(409)
        flash(
            _("WeChat has been unbound. Sign in with your e-mail address and password."), "success"
        )
    return redirect(url_for("account.wechat"))
