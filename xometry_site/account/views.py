"""Account Details overview, account information, password and login e-mail."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth.forms import password_message
from ..auth.sessions import keep_signed_in
from ..extensions import limiter
from ..i18n import current_language, remember_language
from ..read_only import reads_only
from ..security import no_store, reauth_required
from ..services import divisions
from ..services.accounts import addresses, invoicing, profile, subscriptions
from ..services.accounts.passwords import PasswordRejected
from ..services.languages import in_language
from ..services.validators import mask_phone
from . import bp
from .forms import CUSTOMER_TYPE_LABELS, LANGUAGE_LABELS, EmailChangeForm, PasswordForm, ProfileForm

DIVISIONS_MAX_AGE = 86400  # the divisions change once a year at most, with a new release


@bp.get("")
@reads_only
@no_store
@login_required
def index():
    """Account Details: every section at a glance, secrets masked, each with its edit link."""
    user = current_user
    locale = current_language()
    default_address = addresses.default_for(user)
    invoice = invoicing.get_for(user)
    return render_template(
        "account/index.html",
        user=user,
        phone=mask_phone(user.phone) if user.phone else None,
        customer_type=CUSTOMER_TYPE_LABELS.get(user.customer_type or ""),
        language=LANGUAGE_LABELS.get(user.preferred_language or ""),
        address_count=len(addresses.list_for(user)),
        default_address=default_address,
        default_address_phone=mask_phone(default_address.phone) if default_address else None,
        invoice=invoice,
        tax_number=invoicing.masked(invoice.tax_number) if invoice else None,
        bank_account=invoicing.masked(invoice.bank_account) if invoice else None,
        fapiao_type=invoicing.FAPIAO_TYPE_LABELS.get(invoice.fapiao_type) if invoice else None,
        subscription=subscriptions.state(user),
        wechat_bound=bool(user.wechat_identities),
        division_name=lambda code: divisions.name_of(code, locale),
    )


@bp.route("/profile", methods=["GET", "POST"])
@no_store
@login_required
def edit_profile():
    """The preferred language applies at once, to this page and every later one and mail."""
    form = ProfileForm(obj=current_user if request.method == "GET" else None)
    if request.method == "GET":
        form.customer_type.data = current_user.customer_type or ""
        form.preferred_language.data = current_user.preferred_language or ""
    if form.validate_on_submit():
        profile.update_profile(
            current_user,
            profile.ProfileData(
                name=form.name.data,
                job_title=form.job_title.data,
                customer_type=form.customer_type.data,
                invoice_email=form.invoice_email.data,
                preferred_language=form.preferred_language.data,
            ),
        )
        if current_user.preferred_language:
            remember_language(current_user.preferred_language)  # the site switches at once
        flash(_make_saved_message(), "success")
        return redirect(url_for("account.index"))
    return render_template("account/profile.html", form=form)


def _make_saved_message() -> str:
    """Rendered after the language switch takes effect on the next page, in the new language."""

    with in_language(current_user.preferred_language or current_language()):
        return _("Your account information has been saved.")


@bp.route("/password", methods=["GET", "POST"])
@no_store
@login_required
@limiter.shared_limit(
    "10 per hour",
    scope="account-password",  # one budget with the Mini Program's POST /me/password
    methods=["POST"],
    key_func=lambda: f"account-password:{current_user.id}",  # not get_id(): a change renews it
)
def password():
    """Change with the current password, or set a first one after a recent sign-in."""
    if not current_user.has_password:
        return _set_first_password()
    return _password_form(PasswordForm())


@reauth_required
def _set_first_password():
    """No password to ask for: the last sign-in (e.g. by WeChat) must be recent instead."""
    form = PasswordForm()
    del form.current_password
    return _password_form(form)


def _password_form(form: PasswordForm):
    if form.validate_on_submit():
        current = form.current_password.data if "current_password" in form else None
        try:
            profile.change_password(
                current_user, current, form.new_password.data, lang=current_language()
            )
        except profile.WrongPassword:
            form.current_password.errors = [_("That is not your current password.")]
        except PasswordRejected as rejected:
            form.new_password.errors = [password_message(rejected)]
        else:
            keep_signed_in(current_user._get_current_object())  # the others have ended
            flash(_("Your password has been saved. Other devices have been signed out."), "success")
            return redirect(url_for("account.index"))
    return render_template("account/password.html", form=form)


@bp.route("/email", methods=["GET", "POST"])
@no_store
@login_required
@reauth_required
def change_email():
    """Re-authenticated; the address changes only when the link mailed to it is opened."""
    form = EmailChangeForm()
    if form.validate_on_submit():
        try:
            new_email = profile.request_email_change(current_user, form.email.data)
        except profile.SameEmail:
            form.email.errors = [_("This is already your e-mail address.")]
        else:
            flash(
                _(
                    "We have sent a confirmation link to %(email)s. Your e-mail address "
                    "changes when you open it.",
                    email=new_email,
                ),
                "info",
            )
            return redirect(url_for("account.index"))
    return render_template("account/email.html", form=form)


@bp.get("/email/confirm/<token>")
@no_store
def confirm_email(token: str):
    """The link mailed to the new address; works without signing in (the token is the proof)."""
    result = profile.confirm_email_change(token)
    status = 200 if result == "changed" else 400
    return render_template("account/email_confirmed.html", result=result), status


@bp.get("/divisions.json")
@login_required
def divisions_json():
    """The cities of one province (`?province=`) or the districts of one city (`?city=`), in the
    page language, for the menus (divisions.js): a few hundred bytes, kept by the browser a day.

    The page passes `lang` in the address, so a cached answer never speaks the wrong language."""
    locale = current_language()
    if "city" in request.args:
        city = divisions.city_of(request.args["city"])
        if city is None:
            abort(404)
        pairs = divisions.districts(city.code, locale)
        response = jsonify(city=city.code, districts=[{"code": c, "name": n} for c, n in pairs])
    else:
        province = divisions.province_of(request.args.get("province", ""))
        if province is None:
            abort(404)
        pairs = divisions.cities(province.code, locale)
        response = jsonify(
            province=province.code, cities=[{"code": c, "name": n} for c, n in pairs]
        )
    response.cache_control.private = True  # behind the sign-in: no shared cache keeps it
    response.cache_control.max_age = DIVISIONS_MAX_AGE
    response.add_etag()
    return response.make_conditional(request)
