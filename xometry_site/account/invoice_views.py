"""Invoice information.

The whole page (GET and POST) asks for recent authentication: the form shows the owner the full
tax number and bank account, and saving it can change the bank account. Asking before the form is
shown (rather than only on a POST that changes the account) means nobody has to type the form twice;
the overview at /account shows both values masked and needs no re-authentication.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..i18n import current_language
from ..security import no_store, reauth_required
from ..services.accounts import invoicing
from . import bp
from .invoice_forms import InvoiceForm
from .return_to import back_or, next_target


@bp.route("/invoice", methods=["GET", "POST"])
@no_store
@login_required
@reauth_required
def invoice():
    """One page to see (in full, to its owner) and correct the invoice profile."""
    profile = invoicing.get_for(current_user)
    form = InvoiceForm(obj=profile if request.method == "GET" else None)
    if request.method == "GET" and profile is None:
        form.invoice_email.data = current_user.invoice_email or current_user.email
        form.name.data = current_user.name
    form.fill_division_choices(current_language())
    if request.method == "GET" and profile is not None:
        form.company_phone.data = profile.company_phone
    submitted = request.method == "POST" and not form.wants_city_update
    if submitted and form.validate_on_submit():
        try:
            invoicing.save(
                current_user,
                form.invoice_data(),
                consent_given=bool(form.consent_sensitive.data),
                ip=request.remote_addr,
            )
        except invoicing.SensitiveConsentMissing:
            form.consent_sensitive.errors = [invoicing.SENSITIVE_CONSENT_MESSAGE]
        else:
            flash(_("Your invoice information has been saved."), "success")
            return back_or("account.index")
    return render_template(
        "account/invoice.html",
        form=form,
        profile=profile,
        has_sensitive_consent=invoicing.has_sensitive_consent(current_user),
        next_url=next_target(),
    ), (400 if submitted else 200)  # here after a POST only when the save was refused


@bp.post("/invoice/delete")
@no_store
@login_required
def invoice_delete():
    """Deleting needs no re-authentication: it removes data, it cannot redirect invoices."""
    if invoicing.delete(current_user):
        flash(_("Your invoice information has been deleted."), "success")
    return redirect(url_for("account.index"))
