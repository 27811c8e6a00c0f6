"""WeChat sign-in routes: start (QR or in-WeChat), callback, and the first sign-in's phone form."""

from __future__ import annotations

import logging

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import limiter
from ..i18n import current_language
from ..security import is_recently_authenticated, mark_fresh_auth, no_store
from ..services import sms
from ..services.accounts import phone_codes, wechat_accounts
from ..services.accounts.sign_in import in_cooling_off
from ..services.accounts.wechat import (
    WeChatError,
    build_authorize_url,
    exchange_code,
    is_wechat_browser,
)
from ..services.accounts.wechat_accounts import WeChatAccountError
from . import bp, wechat_session
from .closing_views import closing_page
from .code_messages import code_error
from .limits import mark_sms_sent, sms_send_throttle, submitted_phone_key
from .wechat_forms import WeChatCompleteForm
from .wechat_messages import account_error, failure_page

log = logging.getLogger(__name__)

LIMITS = {"WECHAT_COMPLETE_LIMIT": "20 per 10 minutes; 60 per day"}


def _limit(name: str):
    return lambda: current_app.config.get(name) or LIMITS[name]


def _mp_configured() -> bool:
    config = current_app.config
    return bool(config.get("WECHAT_MP_APP_ID") and config.get("WECHAT_MP_APP_SECRET"))


@bp.get("/auth/wechat/login")
def wechat_login():
    """Send the browser to WeChat with a fresh state bound to this session."""
    purpose = request.args.get("purpose", "login")
    purpose = purpose if purpose in wechat_session.PURPOSES else "login"
    next_url = request.args.get("next")
    if purpose == "login" and current_user.is_authenticated:
        purpose = "reauth"  # signed in already: scanning again confirms it is still them
    if purpose != "login":
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if purpose == "bind" and not is_recently_authenticated():
            return redirect(url_for("auth.reauthenticate", next=request.full_path.rstrip("?")))
    in_wechat = is_wechat_browser(request.user_agent.string)
    if in_wechat and not _mp_configured():
        # a QR code cannot be scanned by the phone that shows it
        return render_template("auth/wechat_in_app.html", next=next_url)
    user_id = current_user.id if current_user.is_authenticated else None
    flow = wechat_session.start(purpose, next_url, in_wechat, user_id)
    try:
        target = build_authorize_url(
            current_app.config, wechat_session.redirect_uri(), flow.state, in_wechat
        )
    except WeChatError as error:
        wechat_session.discard()
        return failure_page(error.kind, flow)
    return redirect(target)


@bp.get("/auth/wechat/callback")
def wechat_callback():
    """WeChat sends the browser back here with `code` and our `state` (no code: refused)."""
    state = request.args.get("state")
    flow = wechat_session.matching(state)
    if flow is None:
        duplicate_to = wechat_session.already_done(state)
        if duplicate_to:  # the same callback again (double-click, reload): already handled
            return redirect(duplicate_to)
        log.warning("wechat.callback state=%s", "missing" if not state else "mismatch")
        wechat_session.discard()
        return failure_page("state", None)
    try:
        identity = exchange_code(
            current_app.config, request.args.get("code"), in_wechat=flow.in_wechat
        )
    except WeChatError as error:
        if error.kind == "code_used":
            # most often a second request racing the first with the old cookie: answer without
            # touching the session (no Set-Cookie), so the first one's sign-in stands
            return redirect(url_for("auth.wechat_used", next=flow.next, purpose=flow.purpose))
        wechat_session.discard()
        return failure_page(error.kind, flow)
    if flow.purpose == "login":
        return _sign_in_or_register(flow, identity)
    return _for_signed_in_user(flow, identity)


@bp.get("/auth/wechat/used")
def wechat_used():
    """After a code that was used already: carry on if the first request signed us in."""
    purpose = request.args.get("purpose", "login")
    purpose = purpose if purpose in wechat_session.PURPOSES else "login"
    flow = wechat_session.Flow("", purpose, request.args.get("next"), False, None, 0)
    if purpose == "login" and current_user.is_authenticated:
        return redirect(flow.destination)
    if purpose == "login" and wechat_session.pending() is not None:
        return redirect(url_for("auth.wechat_complete"))
    return failure_page("code_used", flow)


def _sign_in_or_register(flow: wechat_session.Flow, identity):
    """A known WeChat user is signed in; a new one is asked for a phone number."""
    user = wechat_accounts.find_user(identity)
    if user is None:
        wechat_session.finish(flow, url_for("auth.wechat_complete"))
        wechat_session.keep_pending(identity, flow.next)
        return redirect(url_for("auth.wechat_complete"))
    if not user.is_active:
        wechat_session.discard()
        if in_cooling_off(user):  # WeChat proved who it is: say it is closing, offer to keep it
            return closing_page(user, method="wechat", next_url=flow.next)
        log.info("wechat.sign_in_refused reason=inactive user=%s", user.id)
        return failure_page("inactive", flow)
    wechat_accounts.remember_app(user, identity)
    wechat_session.sign_in(user)  # a new session: the flow's state goes with the old one
    wechat_session.finish(flow, flow.destination)
    return redirect(flow.destination)


def _for_signed_in_user(flow: wechat_session.Flow, identity):
    """Bind, or re-authenticate, for the user who started the flow (and is still signed in)."""
    if not current_user.is_authenticated or current_user.id != flow.user_id:
        wechat_session.discard()
        return failure_page("state", None)
    if flow.purpose == "reauth":
        owner = wechat_accounts.find_user(identity)
        wechat_session.finish(flow, flow.destination)
        if owner is None or owner.id != current_user.id:
            log.warning("wechat.reauth_refused user=%s", current_user.id)
            return failure_page("reauth_mismatch", flow)
        mark_fresh_auth()
        log.info("auth.reauthenticated method=wechat user=%s", current_user.id)
        return redirect(flow.destination)
    wechat_session.finish(flow, url_for("account.wechat"))
    try:
        added = wechat_accounts.bind(current_user._get_current_object(), identity)
    except WeChatAccountError as error:
        log.info("wechat.bind_refused reason=%s user=%s", error.kind, current_user.id)
        flash(account_error(error.kind), "error")
        return redirect(url_for("account.wechat"))
    if added:
        flash(_("Your WeChat account is now bound. You can sign in with it."), "success")
    else:
        flash(_("This WeChat account was already bound to your account."), "info")
    return redirect(url_for("account.wechat"))


# --- first sign-in: a phone number proved by SMS ---------------------------------------------


def _pending_or_restart():
    """The waiting identity, or a redirect back to the sign-in page when it has expired."""
    waiting = wechat_session.pending()
    if waiting is None:
        flash(_("Your WeChat sign-in has expired. Please scan the QR code again."), "info")
        return None, redirect(url_for("auth.login"))
    return waiting, None


@bp.route("/auth/wechat/complete", methods=["GET", "POST"])
@limiter.limit(_limit("WECHAT_COMPLETE_LIMIT"), methods=["POST"])
@no_store
def wechat_complete():
    """Create the account of a first WeChat sign-in: phone + code + policy + age (+ newsletter)."""
    waiting, restart = _pending_or_restart()
    if restart:
        return restart
    identity, next_url = waiting
    existing = wechat_accounts.find_user(identity)
    if existing is not None:
        # created meanwhile (a double submit, another tab): the WeChat proof is still fresh
        return _sign_in_existing(existing, next_url)
    form = WeChatCompleteForm()
    if request.method == "GET" and not form.phone.data:
        form.phone.data = wechat_session.pending_phone()
    if form.validate_on_submit():
        try:
            user = wechat_accounts.sign_up(
                identity,
                form.phone.e164,
                form.code.data,
                ip=request.remote_addr,
                language=current_language(),
                newsletter_email=form.newsletter_address(),
            )
        except phone_codes.PhoneCodeError as error:
            form.code.errors.append(code_error(error))
            return render_template("auth/wechat_complete.html", form=form), 400
        except WeChatAccountError as error:
            if error.kind != "identity_taken":
                form.phone.errors.append(account_error(error.kind))
                return render_template("auth/wechat_complete.html", form=form), 409
            return _sign_in_existing(wechat_accounts.find_user(identity), next_url)
        wechat_session.sign_in(user)
        flash(_("Welcome! Your account has been created."), "success")
        if form.newsletter_address():  # worded to read true whether or not the address was free
            flash(
                _(
                    "If %(email)s can be used for your account, we have sent it a link to "
                    "confirm your subscription. No newsletter is sent until you open it.",
                    email=form.newsletter_address(),
                ),
                "info",
            )
        return redirect(wechat_session.destination(next_url, "login"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/wechat_complete.html", form=form), status


@bp.post("/auth/wechat/complete/send-code")
@sms_send_throttle(submitted_phone_key)
def wechat_send_code():
    """Send a 6-digit code to the number in the form, then show the form again."""
    _waiting, restart = _pending_or_restart()
    if restart:
        return restart
    form = WeChatCompleteForm()  # CSRFProtect has checked the token already
    if not form.phone.validate(form):
        return render_template("auth/wechat_complete.html", form=form), 400
    phone = form.phone.e164
    try:
        phone_codes.send(phone, current_language(), purpose=phone_codes.SIGN_UP)
    except sms.SmsError:
        flash(_("We could not send the text message just now. Please try again later."), "error")
        return render_template("auth/wechat_complete.html", form=form), 503
    mark_sms_sent()
    wechat_session.remember_phone(phone)
    flash(
        _(
            "We have sent a 6-digit code to your phone. It is valid for %(minutes)s minutes.",
            minutes=phone_codes.LIFETIME_MINUTES,
        ),
        "success",
    )
    return redirect(url_for("auth.wechat_complete"))


def _sign_in_existing(user, next_url: str | None):
    """The waiting identity has an account now: sign in to it (unless it was closed)."""
    wechat_session.drop_pending()
    if user is None or not user.is_active:
        return failure_page("inactive", None)
    wechat_session.sign_in(user)
    return redirect(wechat_session.destination(next_url, "login"))
