"""Staff: the register of recipients (policy 4) and "send to a recipient" from an order."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..models import Order, Recipient, User
from ..models.base import utcnow
from ..privacy.forms import ActionForm
from ..security import no_store, staff_required
from ..services.privacy import provisions, recipients
from ..services.privacy.provisions import ProvisionRefused
from ..services.working_days import china_date
from . import bp
from .sharing_forms import ProvisionForm, RecipientForm


def _recipient_or_404(recipient_id: int) -> Recipient:
    recipient = recipients.get(recipient_id)
    if recipient is None:
        abort(404)
    return recipient


def _names() -> dict:
    """What the register's templates need to name codes in the page's language."""
    locale = get_locale()
    return {
        "locale": locale,
        "roles": recipients.ROLE_LABELS,
        "kinds": recipients.KIND_LABELS,
        "pi_type": recipients.pi_type_name,
        "country": lambda code: recipients.country_name(code, locale),
    }


@bp.get("/recipients")
@staff_required
@no_store
def recipients_list():
    """The register: every recipient, in use first; the public list is generated from it."""
    return render_template(
        "admin/recipients.html",
        register=recipients.register(),
        today=china_date(utcnow()),
        **_names(),
    )


@bp.route("/recipients/new", methods=["GET", "POST"])
@staff_required
@no_store
def recipient_new():
    form = RecipientForm()
    if form.validate_on_submit():
        recipient = recipients.save(current_user, form.recipient_data())
        flash(_("%(name)s is on the register.", name=recipient.name(get_locale())), "success")
        return redirect(url_for("admin.recipients_list"))
    if not form.is_submitted():
        form.since.data = china_date(utcnow())
    return _form_page(form, None)


@bp.route("/recipients/<int:recipient_id>/edit", methods=["GET", "POST"])
@staff_required
@no_store
def recipient_edit(recipient_id: int):
    recipient = _recipient_or_404(recipient_id)
    form = RecipientForm(obj=recipient)
    if form.validate_on_submit():
        recipients.save(current_user, form.recipient_data(), recipient)
        flash(_("The register is saved."), "success")
        return redirect(url_for("admin.recipients_list"))
    return _form_page(form, recipient)


def _form_page(form: RecipientForm, recipient: Recipient | None):
    code = 400 if form.is_submitted() else 200
    return render_template("admin/recipient_form.html", form=form, recipient=recipient), code


@bp.post("/recipients/<int:recipient_id>/end")
@staff_required
@no_store
def recipient_end(recipient_id: int):
    """Stop using a recipient today: it stays listed as ended, nothing more goes to it."""
    recipient = _recipient_or_404(recipient_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    recipients.end(current_user, recipient, china_date(utcnow()))
    flash(_("%(name)s is no longer used.", name=recipient.name(get_locale())), "success")
    return redirect(url_for("admin.recipients_list"))


# --- "send to a recipient" on /admin/orders/<number> (templates/admin/_provisions.html) ----------


def _provision_form(form: ProvisionForm | None = None) -> ProvisionForm:
    form = form or ProvisionForm()
    locale = get_locale()
    options = [
        (
            r.id,
            f"{r.name(locale)} · {recipients.ROLE_LABELS[r.role]}"
            + (
                f" · {_('needs the customer’s separate consent')}"
                if r.needs_separate_consent
                else ""
            ),
        )
        for r in recipients.in_use(china_date(utcnow()))
    ]
    form.set_recipients(options)
    return form


@bp.app_template_global()
def provision_panel(order: Order, form: ProvisionForm | None = None) -> dict:
    """What the order page's "send to a recipient" panel shows (queried only when shown)."""
    return {
        "form": _provision_form(form),
        "provisions": provisions.for_order(order),
        "purposes": provisions.PURPOSES,
        "bases": provisions.BASIS_LABELS,
        **_names(),
    }


REFUSALS = {
    "unknown": lambda r: _("Choose a recipient from the register."),
    "ended": lambda r: _("%(name)s is no longer used: choose another recipient.", name=r),
    "no_categories": lambda r: _("Tick the information you send."),
    "not_declared": lambda r: _(
        "The register does not list this information for %(name)s. The public list must stay "
        "true: add it to the register first, or send less.",
        name=r,
    ),
    "no_purpose": lambda r: _("Choose the purpose."),
    "needs_consent": lambda r: _(
        "Refused: %(name)s is not an entrusted processor in mainland China, so the customer's "
        "separate consent to it is needed first, and the customer has not given it (or has "
        "withdrawn it). Nothing was sent or recorded. The customer can give it under My data → "
        "Consents.",
        name=r,
    ),
}


@bp.post("/orders/<number>/provisions")
@staff_required
@no_store
def order_provision(number: str):
    """Record that this order's information goes to a recipient; refused without the consent a
    third party needs."""
    order = db.session.scalar(db.select(Order).filter_by(number=number))
    if order is None:
        abort(404)
    form = _provision_form(ProvisionForm())
    if form.validate_on_submit():
        try:
            provision = provisions.record(order, current_user, form.draft())
        except ProvisionRefused as refused:
            name = refused.recipient.name(get_locale()) if refused.recipient else ""
            form.form_errors.append(REFUSALS[refused.code](name))
        else:
            flash(
                _(
                    "Recorded: %(name)s receives this order's information. The customer sees it "
                    "under My data.",
                    name=provision.recipient.name(get_locale()),
                ),
                "success",
            )
            return redirect(
                url_for("admin.order_detail", number=order.number, _anchor="provisions")
            )
    return render_template(
        "admin/order_provision.html",
        order=order,
        owner=db.session.get(User, order.user_id),
        provision_form=form,
    ), 400
