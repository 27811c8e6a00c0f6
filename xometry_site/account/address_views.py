"""Shipping addresses: list, add, correct, delete (with a confirmation page), choose the default."""

from __future__ import annotations

import phonenumbers
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..i18n import current_language
from ..security import no_store
from ..services import divisions
from ..services.accounts import addresses
from . import bp
from .address_forms import AddressForm
from .return_to import back_or, next_target


@bp.app_template_filter("phone")
def phone_display(e164: str | None) -> str:
    """A stored E.164 number as people write it: +86 138 1234 5678, +86 21 6234 5678."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _owned_or_404(address_id: int):
    """Another user's address is a 404 on every verb, indistinguishable from a missing one."""
    address = addresses.get_owned(current_user, address_id)
    if address is None:
        abort(404)
    return address


def _data(form: AddressForm) -> addresses.AddressData:
    return addresses.AddressData(
        organization=form.organization.data,
        recipient=form.recipient.data,
        address=form.address.data,
        phone=form.phone.e164,
        province=form.province.data,
        city=form.city.data,
        district=form.district.data or None,
        postal_code=form.postal_code.data,
        is_default=bool(form.is_default.data),
    )


def _submitted(form: AddressForm) -> bool:
    """Validate a POST unless it only asked for the menus to be refreshed (no-JS path)."""
    form.fill_division_choices(current_language())
    if request.method != "POST" or form.wants_city_update:
        return False
    valid = form.validate_on_submit()
    return form.check_division_pair(required=True) and valid


def _render_form(form: AddressForm, address=None):
    """The form; a refused save answers 400 (its errors are beside the fields)."""
    refused = request.method == "POST" and not form.wants_city_update
    return render_template(
        "account/address_form.html",
        form=form,
        address=address,
        next_url=next_target(),
        missing_district=bool(address and not address.district and form.city_has_districts),
    ), (400 if refused else 200)


@bp.get("/addresses")
@no_store
@login_required
def address_list():
    """The default first: the address parts go to unless the user picks another."""
    locale = current_language()
    return render_template(
        "account/addresses.html",
        addresses=addresses.list_for(current_user),
        division_name=lambda code: divisions.name_of(code, locale),
        needs_district=addresses.needs_district,
    )


@bp.route("/addresses/new", methods=["GET", "POST"])
@no_store
@login_required
def address_new():
    """The first address becomes the default whatever the box says."""
    form = AddressForm()
    if _submitted(form):
        addresses.create(current_user, _data(form))
        flash(_("The address has been saved."), "success")
        return back_or("account.address_list")
    return _render_form(form)


@bp.route("/addresses/<int:address_id>/edit", methods=["GET", "POST"])
@no_store
@login_required
def address_edit(address_id: int):
    """Another user's address is a 404 before the form is even read."""
    address = _owned_or_404(address_id)
    form = AddressForm(obj=address if request.method == "GET" else None)
    if request.method == "GET":
        form.phone.data = address.phone
    if _submitted(form):
        addresses.update(current_user, address, _data(form))
        flash(_("The address has been saved."), "success")
        return back_or("account.address_list")
    return _render_form(form, address)


@bp.route("/addresses/<int:address_id>/delete", methods=["GET", "POST"])
@no_store
@login_required
def address_delete(address_id: int):
    """GET asks "really?" (works without JavaScript); POST deletes."""
    address = _owned_or_404(address_id)
    if request.method == "POST":  # CSRFProtect has checked the token
        addresses.delete(current_user, address)
        flash(_("The address has been deleted."), "success")
        return redirect(url_for("account.address_list"))
    locale = current_language()
    return render_template(
        "account/address_delete.html",
        address=address,
        division_name=lambda code: divisions.name_of(code, locale),
    )


@bp.post("/addresses/<int:address_id>/default")
@no_store
@login_required
def address_make_default(address_id: int):
    """A POST with CSRF (the list's button); another user's address is a 404."""
    address = _owned_or_404(address_id)
    addresses.make_default(current_user, address)
    flash(_("Your default shipping address has been changed."), "success")
    return redirect(url_for("account.address_list"))
