"""Home, health check and the cookie notice."""

from __future__ import annotations

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import health
from ..auth.sessions import forget_remembered_devices
from ..extensions import csrf, db
from ..security import may_be_signed_in, safe_next, same_origin_only
from ..services import cookies
from ..services.privacy import consents
from . import bp
from .cache import public_page
from .forms import CookieBannerForm, CookieSettingsForm


@bp.get("/")
@public_page
def home():
    """Everyone sees the offer; a signed-in, verified customer also gets the drop zone itself."""
    upload = None
    if may_be_signed_in() and current_user.is_authenticated and current_user.is_verified:
        from ..quotes.upload_view import upload_context

        upload = upload_context()
    return render_template("pages/home.html", upload=upload, compact=True)


@bp.get("/healthz")
def healthz():
    """Load balancers and monitoring ask here: each dependency's state, 503 when the site cannot
    work (health.py); within HEALTH_CHECK_TIMEOUT whatever hangs, and never cached."""
    answer, healthy = health.report(current_app._get_current_object())
    response = jsonify(answer)
    response.status_code = 200 if healthy else 503
    response.cache_control.no_store = True
    return response


@bp.route("/cookies", methods=["GET", "POST"])
@csrf.exempt
@same_origin_only
@public_page
def cookie_settings():
    banner = CookieBannerForm()
    form = CookieSettingsForm()
    if banner.validate_on_submit() and (banner.accept_all.data or banner.necessary_only.data):
        chosen = set(cookies.OPTIONAL_CATEGORIES) if banner.accept_all.data else set()
        return _save_choice(chosen, safe_next(banner.next.data, "pages.cookie_settings"))
    if form.validate_on_submit():
        chosen = {cookies.FUNCTIONAL} if form.functional.data else set()
        return _save_choice(chosen, url_for("pages.cookie_settings"))
    choice = cookies.current_choice()
    if request.method == "GET":
        form.functional.data = bool(choice and cookies.FUNCTIONAL in choice)
    return render_template(
        "pages/cookies.html",
        form=form,
        registry=cookies.REGISTRY,
        categories=cookies.CATEGORIES,
        choice=choice,
    )


def _save_choice(chosen: set[str], target: str):
    response = redirect(target)
    cookies.set_choice(response, chosen)
    if current_user.is_authenticated:
        _record_cookie_consent(cookies.FUNCTIONAL in chosen)
        flash(_("Your cookie choice has been saved."), "success")
    # An anonymous visitor sees the banner gone and their choice on /cookies; a message would
    # start a session just to carry it.
    return response


def _record_cookie_consent(functional: bool) -> None:
    """Signed-in visitors see their cookie choice among their consents."""
    had = consents.active(current_user, "cookies_functional")
    if functional and not had:
        consents.record(
            current_user, "cookies_functional", ip=request.remote_addr, source="cookies"
        )
    elif not functional and had:
        consents.withdraw(current_user, "cookies_functional")
        forget_remembered_devices(current_user)
    db.session.commit()
