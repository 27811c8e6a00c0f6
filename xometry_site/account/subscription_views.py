"""E-mail subscription page, its confirmation link, and the public one-click unsubscribe."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth.limits import mark_attempt_counted, resend_throttle
from ..extensions import csrf
from ..security import no_store
from ..services.accounts import subscriptions
from . import bp, mailing_bp
from .forms import SubscriptionForm


@bp.route("/subscriptions", methods=["GET", "POST"])
@no_store
@login_required
def subscription_settings():
    """Ticking asks for confirmation by mail (double opt-in); unticking withdraws at once."""
    state = subscriptions.state(current_user)
    form = SubscriptionForm()
    if request.method == "GET":
        form.subscribe.data = state != "none"
    elif form.validate_on_submit() and current_user.email:
        if form.subscribe.data and state == "none":
            subscriptions.subscribe(current_user, ip=request.remote_addr, source="account")
            flash(
                _("Please open the link we have sent to your e-mail to confirm the subscription."),
                "info",
            )
        elif not form.subscribe.data and state != "none":
            subscriptions.unsubscribe(current_user)
            flash(_("You have been unsubscribed. We will not send you these e-mails."), "success")
        return redirect(url_for("account.subscription_settings"))
    return render_template("account/subscriptions.html", form=form, state=state)


@bp.post("/subscriptions/resend")
@no_store
@login_required
@resend_throttle
def subscription_resend():
    """The confirmation mail again, for a subscription still waiting for it (throttled as the
    verification mail is: a button must not become a way to flood a mailbox)."""
    consent = subscriptions.pending(current_user)
    if consent is not None:
        mark_attempt_counted()
        subscriptions.send_confirmation(current_user, consent)
        flash(_("We have sent the confirmation link again."), "info")
    return redirect(url_for("account.subscription_settings"))


@bp.get("/subscriptions/confirm/<token>")
@no_store
def confirm_subscription(token: str):
    """The link in the confirmation mail; works without signing in (the token is the proof)."""
    result = subscriptions.confirm(token)
    status = 200 if result == "confirmed" else 400
    return render_template("account/subscription_confirmed.html", result=result), status


@mailing_bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: mail programs POST without our form; the signed token is the proof
@no_store
def unsubscribe(token: str):
    """GET: one button (link scanners must not unsubscribe anyone); POST: unsubscribe at once."""
    user = subscriptions.user_from_unsubscribe_token(token)
    if user is None:
        return render_template("account/unsubscribe.html", invalid=True), 400
    if request.method == "POST":
        subscriptions.unsubscribe(user)
        return render_template("account/unsubscribe.html", done=True)
    return render_template("account/unsubscribe.html", token=token)
