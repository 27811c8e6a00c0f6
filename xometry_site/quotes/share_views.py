"""Routes of share links: the owner makes and revokes them; a visitor with one reads the quote.

`/shared/quotes/<token>` needs no account: the link's secret is the credential. It shows the
quote's parts, options and prices and nothing else of the owner: no drawing, preview or mesh.
"""

from __future__ import annotations

from typing import NamedTuple

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..extensions import limiter
from ..models.base import utcnow
from ..security import no_store
from ..services.mail import external_url
from ..services.quotes import quote_document, records, sharing
from . import bp, shared_bp
from .access import quote_or_404
from .labels import QUOTE_ERROR
from .share_forms import RevokeShareForm, ShareForm

SHARE_ERROR = {
    **QUOTE_ERROR,
    "not_shareable": _l("A link can be made once the quote has a price or is in review."),
}


def _owned_quote(ref: str):
    """Only the owner shares a quote; staff and everyone else get 404."""
    quote = quote_or_404(ref)
    if quote.user_id != current_user.id:
        abort(404)
    return quote


def _share_limit() -> str:
    return current_app.config["QUOTE_SHARE_LIMIT"]


@bp.post("/<ref>/share")
@login_required
@limiter.limit(_share_limit, key_func=lambda: f"quote-share:{getattr(current_user, 'id', None)}")
@no_store
def share(ref: str):
    quote = _owned_quote(ref)
    if not ShareForm().validate_on_submit():
        abort(400)
    try:
        link, token = sharing.create_share(quote, current_user)
    except records.QuoteError as exc:
        flash(str(SHARE_ERROR.get(exc.code, exc.code)), "error")
        return redirect(url_for("quotes.detail", ref=quote.ref, _anchor="share"))
    # The secret is not stored: this page is the only time the owner sees the link.
    return render_template(
        "quotes/share_created.html",
        quote=quote,
        share=link,
        url=external_url("shared.quote", token=token),
    )


@bp.post("/<ref>/share/<int:share_id>/revoke")
@login_required
@no_store
def revoke_share(ref: str, share_id: int):
    quote = _owned_quote(ref)
    if not RevokeShareForm().validate_on_submit():
        abort(400)
    if not sharing.revoke_share(quote, current_user, share_id):
        abort(404)
    flash(_("The link no longer opens this quote."), "success")
    return redirect(url_for("quotes.detail", ref=quote.ref, _anchor="share"))


class SharePanel(NamedTuple):
    """What the quote page shows its owner about links: the form, the links and their openings."""

    can_share: bool
    shares: list
    form: ShareForm
    revoke_form: RevokeShareForm
    now: object
    days: int = sharing.SHARE_DAYS


def share_panel(quote) -> SharePanel | None:
    """For templates/quotes/_share.html: only the owner sees and manages links."""
    if not current_user.is_authenticated or quote.user_id != current_user.id:
        return None
    return SharePanel(
        can_share=quote.status in sharing.SHAREABLE,
        shares=sharing.shares_of(quote, current_user),
        form=ShareForm(),
        revoke_form=RevokeShareForm(),
        now=utcnow(),
    )


@bp.app_context_processor
def share_helpers() -> dict:
    return {"share_panel": share_panel}


def _shared_limit() -> str:
    return current_app.config["SHARED_QUOTE_LIMIT"]


@shared_bp.get("/quotes/<token>")
@limiter.limit(_shared_limit)  # per address: the visitor has no account
def quote(token: str):
    found = sharing.shared_quote(token)
    if found is None:
        return render_template("quotes/shared_gone.html", days=sharing.SHARE_DAYS), 404
    link, shared = found
    return render_template(
        "quotes/shared.html", doc=quote_document.build(shared), quote=shared, share=link
    )


@shared_bp.after_request
def private_and_unlisted(response):
    """A shared quote (or the page saying the link is gone) is kept by no cache, listed by no
    search engine, and its address (the secret) is sent to no other site as a Referer."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
