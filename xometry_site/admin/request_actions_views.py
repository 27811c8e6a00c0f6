"""Staff act on a data request by contact (5.2, 5.3 B, 5.4, 5.6): identity first, then actions.

The buttons appear only once staff have recorded how they verified the requester's identity; a
forged POST before that is refused (403). Each action calls services/privacy/staff_actions.py,
which uses the customer's own services, audits, and mails the requester.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..account.address_forms import AddressForm
from ..account.forms import ProfileForm
from ..account.invoice_forms import InvoiceForm
from ..extensions import db
from ..i18n import current_language
from ..models import PrivacyRequest, Quote, User
from ..privacy.admin_forms import AnswerForm
from ..privacy.forms import ActionForm
from ..privacy.presenters import action_label
from ..security import no_store, staff_required
from ..services import divisions
from ..services.accounts import addresses, invoicing, profile
from ..services.privacy import audit_trail, erasure, staff_actions
from ..services.privacy import requests as privacy_requests
from . import bp
from .request_forms import DrawingsForm, IdentityForm, ProcessorForm


def request_page(req: PrivacyRequest, form: AnswerForm | None = None, status: int = 200, **forms):
    """The request with its identity check, the actions staff may take, history and answer."""
    account = db.session.get(User, req.user_id) if req.user_id else None
    can_act = staff_actions.may_act(req)
    context: dict = {
        "req": req,
        "form": form or AnswerForm(obj=req),
        "account": account,
        "overdue": privacy_requests.is_overdue(req),
        "can_act": can_act,
        "identity_methods": staff_actions.IDENTITY_METHODS,
        "decline_reasons": privacy_requests.DECLINE_REASONS,
        "verifier": db.session.get(User, req.identity_verified_by_id)
        if req.identity_verified_by_id
        else None,
        "history": [
            (event, db.session.get(User, event.actor_id) if event.actor_id else None)
            for event in staff_actions.history(req)
        ],
        "identity_form": forms.get("identity_form") or IdentityForm(),
        "action_form": ActionForm(),
        "action_label": action_label,
    }
    if can_act:
        locale = current_language()
        drawings = staff_actions.deletable_drawings(account)
        drawings_form = forms.get("drawings_form") or DrawingsForm()
        drawings_form.drawings.choices = _drawing_choices(drawings)
        context.update(
            addresses=addresses.list_for(account),
            invoice=invoicing.get_for(account),
            drawings_form=drawings_form,
            kept_drawings=erasure.kept_drawings(account),
            quotes=list(
                db.session.scalars(
                    db.select(Quote).filter_by(user_id=account.id).order_by(Quote.created_at)
                )
            ),
            processor_form=forms.get("processor_form")
            or ProcessorForm(data={"processor_email": _email_in(req.processor)}),
            division_name=lambda code: divisions.name_of(code, locale),
        )
    return render_template("admin/requests_detail.html", **context), status


def _drawing_choices(drawings) -> list:
    from ..forms import SelectChoice

    return [SelectChoice(d.id, f"{d.filename} ({d.quote.ref})") for d in drawings]


def _email_in(text: str | None) -> str | None:
    """The requester may have typed the processor's address as its name."""
    return text.strip() if text and "@" in text and " " not in text.strip() else None


def _request(request_id: int) -> PrivacyRequest:
    req = db.session.get(PrivacyRequest, request_id)
    if req is None or req.status == "unverified":
        abort(404)
    return req


def _account(req: PrivacyRequest) -> User:
    """The account to act on; 403 before the identity is recorded, 404 when there is none."""
    try:
        return staff_actions.account_for(req)
    except staff_actions.NotVerified:
        abort(403)
    except staff_actions.ActionRefused:
        abort(404)


def _posted() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


def _back(req: PrivacyRequest):
    return redirect(url_for("admin.privacy_request", request_id=req.id, _anchor="actions"))


def _told() -> str:
    return _("The requester has been told by e-mail.")


@bp.post("/requests/<int:request_id>/identity")
@staff_required
@no_store
def request_identity(request_id: int):
    """Record that (and how) the requester's identity was verified: the actions appear."""
    req = _request(request_id)
    if req.user_id is None or req.is_closed:
        abort(404)
    form = IdentityForm()
    if not form.validate_on_submit():
        return request_page(req, identity_form=form, status=400)
    staff_actions.record_identity(req, current_user, form.method.data, form.note.data)
    flash(_("The requester's identity is recorded as verified."), "success")
    return _back(req)


@bp.route("/requests/<int:request_id>/profile", methods=["GET", "POST"])
@staff_required
@no_store
def request_correct_profile(request_id: int):
    """5.3 A (1): name, job title, customer type, invoice e-mail, preferred language."""
    req = _request(request_id)
    account = _account(req)
    form = ProfileForm(obj=account if request.method == "GET" else None)
    if request.method == "GET":
        form.customer_type.data = account.customer_type or ""
        form.preferred_language.data = account.preferred_language or ""
    if form.validate_on_submit():
        changed = staff_actions.correct_profile(
            req,
            current_user,
            profile.ProfileData(
                name=form.name.data,
                job_title=form.job_title.data,
                customer_type=form.customer_type.data,
                invoice_email=form.invoice_email.data,
                preferred_language=form.preferred_language.data,
            ),
        )
        flash(
            _("Corrected: %(fields)s.", fields=", ".join(str(field) for field in changed) or "—")
            + " "
            + _told(),
            "success",
        )
        return _back(req)
    return _correction_page(req, form, "profile"), (400 if form.errors else 200)


@bp.route("/requests/<int:request_id>/addresses/<int:address_id>", methods=["GET", "POST"])
@staff_required
@no_store
def request_correct_address(request_id: int, address_id: int):
    """5.3 A (3): a shipping address, with the same form and checks as the owner's."""
    req = _request(request_id)
    _account(req)
    address = staff_actions.address_of(req, address_id)
    if address is None:
        abort(404)
    form = AddressForm(obj=address if request.method == "GET" else None)
    if request.method == "GET":
        form.phone.data = address.phone
    form.fill_division_choices(current_language())
    submitted = request.method == "POST" and not form.wants_city_update
    if submitted and form.validate_on_submit() and form.check_division_pair(required=True):
        staff_actions.correct_address(
            req,
            current_user,
            address,
            addresses.AddressData(
                organization=form.organization.data,
                recipient=form.recipient.data,
                address=form.address.data,
                phone=form.phone.e164,
                province=form.province.data,
                city=form.city.data,
                district=form.district.data or None,
                postal_code=form.postal_code.data,
                is_default=address.is_default,
            ),
        )
        flash(_("The address has been corrected.") + " " + _told(), "success")
        return _back(req)
    return _correction_page(req, form, "address", address=address), (400 if submitted else 200)


@bp.route("/requests/<int:request_id>/invoice", methods=["GET", "POST"])
@staff_required
@no_store
def request_correct_invoice(request_id: int):
    """5.3 A (4): the invoice details; an ID number needs the customer's own consent."""
    req = _request(request_id)
    account = _account(req)
    profile_row = invoicing.get_for(account)
    if profile_row is None:
        abort(404)
    form = InvoiceForm(obj=profile_row if request.method == "GET" else None)
    if request.method == "GET":  # the full tax number and bank account: a look on the record
        form.company_phone.data = profile_row.company_phone
        audit_trail.record_staff_look(
            "staff.viewed_invoice", current_user, account.id, f"request:{req.id}"
        )
    form.fill_division_choices(current_language())
    submitted = request.method == "POST" and not form.wants_city_update
    if submitted and form.validate_on_submit():
        try:
            staff_actions.correct_invoice(req, current_user, form.invoice_data())
        except invoicing.SensitiveConsentMissing:
            form.tax_number.errors = [
                _(
                    "This tax number is a national ID number: only the customer can give the "
                    "separate consent it needs, on their invoice page."
                )
            ]
        else:
            flash(_("The invoice information has been corrected.") + " " + _told(), "success")
            return _back(req)
    return _correction_page(req, form, "invoice"), (400 if submitted else 200)


def _correction_page(req: PrivacyRequest, form, which: str, **extra):
    return render_template(
        "admin/request_correction.html", req=req, form=form, which=which, **extra
    )


@bp.post("/requests/<int:request_id>/drawings/delete")
@staff_required
@no_store
def request_delete_drawings(request_id: int):
    """5.4: the ticked drawings, crypto-shredded (those of orders are never offered)."""
    req = _request(request_id)
    account = _account(req)
    form = DrawingsForm()
    form.drawings.choices = _drawing_choices(staff_actions.deletable_drawings(account))
    if not form.validate_on_submit():
        return request_page(req, drawings_form=form, status=400)
    count = staff_actions.delete_drawings(req, current_user, form.drawings.data)
    flash(_("%(count)d drawings deleted for good.", count=count) + " " + _told(), "success")
    return _back(req)


@bp.post("/requests/<int:request_id>/quotes/<ref>/delete")
@staff_required
@no_store
def request_delete_quote(request_id: int, ref: str):
    """5.4: one quote with its drawings; an ordered one is kept by law and says so."""
    req = _request(request_id)
    _account(req)
    _posted()
    try:
        deleted = staff_actions.delete_quote(req, current_user, ref)
    except erasure.QuoteKept:
        flash(_("Quote %(ref)s became an order: the law requires us to keep it.", ref=ref), "error")
        return _back(req)
    if not deleted:
        abort(404)
    flash(_("Quote %(ref)s deleted with its drawings.", ref=ref) + " " + _told(), "success")
    return _back(req)


@bp.post("/requests/<int:request_id>/addresses/<int:address_id>/delete")
@staff_required
@no_store
def request_delete_address(request_id: int, address_id: int):
    """5.4: one shipping address."""
    req = _request(request_id)
    _account(req)
    _posted()
    address = staff_actions.address_of(req, address_id)
    if address is None:
        abort(404)
    staff_actions.delete_address(req, current_user, address)
    flash(_("The address has been deleted.") + " " + _told(), "success")
    return _back(req)


@bp.post("/requests/<int:request_id>/invoice/delete")
@staff_required
@no_store
def request_delete_invoice(request_id: int):
    """5.4: the invoice details."""
    req = _request(request_id)
    _account(req)
    _posted()
    if not staff_actions.delete_invoice(req, current_user):
        abort(404)
    flash(_("The invoice information has been deleted.") + " " + _told(), "success")
    return _back(req)


@bp.post("/requests/<int:request_id>/deregister")
@staff_required
@no_store
def request_deregister(request_id: int):
    """5.6: close the account; the owner's mail offers to keep it during the cooling-off."""
    req = _request(request_id)
    account = _account(req)
    _posted()
    if account.is_deregistered:
        flash(_("The account is already closed."), "info")
        return _back(req)
    erase_after = staff_actions.deregister(req, current_user)
    flash(
        _(
            "The account is closed and will be erased on %(date)s. The owner has the mail with "
            "the link to keep it.",
            date=erase_after.date().isoformat(),
        ),
        "success",
    )
    return _back(req)


@bp.post("/requests/<int:request_id>/export")
@staff_required
@no_store
def request_export(request_id: int):
    """5.1: a copy for the owner, who gets the download link by mail when it is ready."""
    req = _request(request_id)
    _account(req)
    _posted()
    staff_actions.export_copy(req, current_user)
    flash(_("A copy is being prepared for the owner.") + " " + _told(), "success")
    return _back(req)


@bp.post("/requests/<int:request_id>/transfer/processor")
@staff_required
@no_store
def request_transfer_processor(request_id: int):
    """5.2: mail the processor's address to the customer's own address for confirmation."""
    req = _request(request_id)
    _account(req)
    form = ProcessorForm()
    if not form.validate_on_submit():
        return request_page(req, processor_form=form, status=400)
    try:
        staff_actions.ask_processor_confirmation(req, current_user, form.processor_email.data)
    except staff_actions.NoAccountAddress:
        flash(_("The account has no e-mail address to confirm the processor from."), "error")
        return _back(req)
    flash(_("The customer has been asked by e-mail to confirm this address."), "success")
    return _back(req)


@bp.post("/requests/<int:request_id>/transfer")
@staff_required
@no_store
def request_transfer(request_id: int):
    """5.2: the copy goes to the confirmed address by a single-use, expiring link."""
    req = _request(request_id)
    _account(req)
    _posted()
    try:
        staff_actions.transfer(req, current_user)
    except staff_actions.ProcessorNotConfirmed:
        flash(_("The customer has not confirmed the processor's address yet."), "error")
        return _back(req)
    flash(
        _("The copy is being prepared; the processor gets a single-use link.") + " " + _told(),
        "success",
    )
    return _back(req)
