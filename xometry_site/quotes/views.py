"""Routes of "Request a quote": list, new (streamed upload), detail, files, cancel, accept."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple
from urllib.parse import urlencode

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth.decorators import verified_required
from ..extensions import csrf
from ..forms import choices
from ..i18n import current_language
from ..read_only import reads_only
from ..security import no_store
from ..services.accounts.addresses import needs_district
from ..services.quotes import (
    acceptance,
    catalogue,
    part_quote,
    price_tickets,
    pricing,
    questions,
    quote_pricing,
    records,
    review,
)
from . import bp, labels
from .access import drawing_or_404, quote_or_404
from .downloads import drawing_response, mesh_response, preview_response
from .forms import AcceptForm, AnswerForm, CancelForm
from .labels import QUOTE_ERROR
from .table import quote_table
from .upload_view import receive_quote, upload_page


@bp.get("/")
@reads_only
@login_required
@no_store
def index():
    quotes = records.quotes_of(current_user)
    return render_template("quotes/index.html", table=quote_table(quotes) if quotes else None)


@bp.route("/new", methods=["GET", "POST"])
@verified_required
@no_store
def new():
    if request.method == "POST":
        return receive_quote()
    return upload_page()


# The upload body is parsed by our streaming parser; CSRFProtect would make Werkzeug parse it
# (spooling files to disk in plaintext). The view checks the streamed csrf_token itself.
csrf.exempt(new)


@bp.get("/<ref>")
@reads_only
@login_required
@no_store
def detail(ref: str):
    return detail_page(quote_or_404(ref))


def detail_page(quote, forms: dict | None = None, status: int = 200, answer_form=None):
    """The quote with one form per part; `forms` keeps a refused part's input and errors, as
    `answer_form` a refused answer to a staff question."""
    from .part_forms import attach_form_for, part_form_for

    is_owner = quote.user_id == current_user.id
    editable = is_owner and quote.is_configurable
    forms = forms or {}
    rules = pricing.load_rules()
    measured = quote.status != "analysing"
    rows = [
        PartView(
            part=p,
            options=part_quote.options_of(p, quote),
            result=part_quote.quote_part(p, part_quote.options_of(p, quote), quote.notes, rules)
            if measured
            else None,
            form=forms.get(p.id) or (part_form_for(quote, p) if editable else None),
            attachments=quote.attachments_of(p),
        )
        for p in quote.parts
    ]
    shown = {f.code for row in rows if row.result for f in row.result.findings}
    return render_template(
        "quotes/detail.html",
        price_tickets=_price_tickets(quote) if editable else {},
        quote=quote,
        drawings=quote.live_drawings,
        parts=rows,
        # the quote's hints the parts' manufacturability notes do not already give
        warnings=[code for code in quote.warnings or [] if code not in shown],
        attach_forms={
            d.id: attach_form_for(quote, d) for d in quote.live_drawings if editable and d.is_flat
        },
        combinations=catalogue.material_combinations(),
        downloads=review.staff_downloads(quote.live_drawings),
        lead_dates=quote_pricing.lead_dates(quote),
        cancel_form=CancelForm(),
        is_owner=is_owner,
        editable=editable,
        reviewed_options=catalogue.reviewed_options(),
        order_number=_order_number(quote),
        answer_form=answer_form or AnswerForm(formdata=None),
        awaits_answer=questions.awaits_answer(quote),
    ), status


def _price_tickets(quote) -> dict[int, str]:
    """Each part's ticket for its live price (services/quotes/price_tickets.py), made for the
    owner's sign-in in the page's language."""
    if not price_tickets.can_mint(quote):
        return {}
    sign_in, language = current_user.get_id(), current_language()
    secret = current_app.config["SECRET_KEY"]
    return {p.id: price_tickets.mint(quote, p, sign_in, language, secret) for p in quote.parts}


def _order_number(quote) -> str | None:
    """The order this quote became, for a link to it (owner only: staff use /admin/orders)."""
    if quote.status != "ordered" or quote.user_id != current_user.id:
        return None
    from ..extensions import db
    from ..models import Order

    return db.session.scalar(db.select(Order.number).filter_by(quote_id=quote.id))


class PartView(NamedTuple):
    """What the page shows of one part: its quote now, its form, its attached drawings."""

    part: Any
    options: Any
    result: Any
    form: Any
    attachments: list


@bp.get("/<ref>/status")
@login_required
@no_store
def status(ref: str):
    """What the quote page asks while its drawings are analysed: it reloads when the price is
    known (`priced`, shown while the mesh checks still run) and when the analysis is done."""
    quote = quote_or_404(ref)
    return {
        "status": quote.status,
        "analysing": quote.status == "analysing",
        "priced": quote.total is not None,
    }


@bp.get("/<ref>/files/<int:drawing_id>")
@login_required
def download(ref: str, drawing_id: int):
    _quote, drawing = drawing_or_404(ref, drawing_id)
    return drawing_response(drawing, current_user)


@bp.get("/<ref>/files/<int:drawing_id>/preview.png")
@login_required
def preview(ref: str, drawing_id: int):
    _quote, drawing = drawing_or_404(ref, drawing_id)
    return preview_response(drawing)


@bp.get("/<ref>/files/<int:drawing_id>/mesh.bin")
@login_required
def mesh(ref: str, drawing_id: int):
    _quote, drawing = drawing_or_404(ref, drawing_id)
    return mesh_response(drawing)


@bp.post("/<ref>/cancel")
@login_required
def cancel(ref: str):
    quote = quote_or_404(ref)
    form = CancelForm()
    if form.validate_on_submit():
        try:
            acceptance.cancel_quote(quote, current_user)
            flash(_("The quote was cancelled."), "success")
        except records.QuoteError as exc:
            flash(str(QUOTE_ERROR.get(exc.code, exc.code)), "error")
    return redirect(url_for("quotes.detail", ref=quote.ref))


@bp.route("/<ref>/accept", methods=["GET", "POST"])
@login_required
@no_store
def accept(ref: str):
    quote = quote_or_404(ref)
    if quote.user_id != current_user.id:  # staff see quotes, only the owner orders
        abort(404)
    if quote.status != "quoted":
        flash(str(QUOTE_ERROR["not_acceptable"]), "error")
        return redirect(url_for("quotes.detail", ref=quote.ref))
    addresses, invoice = acceptance.order_details_of(current_user)
    form = AcceptForm()
    form.shipping_address_id.choices = choices((a.id, a.recipient) for a in addresses)
    form.invoice_profile_id.choices = choices(
        [(invoice.id, invoice.holder or "")] if invoice else []
    )
    if quote.lead_days_expedited is None:
        form.lead_choice.choices = [c for c in form.lead_choice.choices if c.value == "standard"]
    if request.method == "GET":
        default = next(
            (a.id for a in addresses if a.is_default), addresses[0].id if addresses else None
        )
        form.shipping_address_id.data = default
        form.invoice_profile_id.data = invoice.id if invoice else None
    elif form.validate_on_submit():
        try:
            order = acceptance.accept_quote(
                quote,
                current_user,
                form.shipping_address_id.data,
                form.invoice_profile_id.data,
                form.lead_choice.data,
            )
        except records.QuoteError as exc:
            message = str(QUOTE_ERROR.get(exc.code, exc.code))
            if exc.code == "address_needs_district":  # beside the address, with its edit link
                form.shipping_address_id.errors = [message]
            else:
                form.form_errors.append(message)
        else:
            flash(_("Thank you: your order %(number)s is placed.", number=order.number), "success")
            return redirect(url_for("orders.detail", number=order.number))
    back = url_for("quotes.accept", ref=quote.ref)
    return render_template(
        "quotes/accept.html",
        quote=quote,
        form=form,
        addresses=addresses,
        invoice=invoice,
        lead_dates=quote_pricing.lead_dates(quote),
        add_address_url="/account/addresses/new?" + urlencode({"next": back}),
        add_invoice_url="/account/invoice?" + urlencode({"next": back}),
        needs_district=needs_district,
        edit_address_url=lambda a: url_for("account.address_edit", address_id=a.id, next=back),
    ), (200 if request.method == "GET" or not form.errors else 400)


@bp.app_context_processor
def quote_helpers() -> dict:
    """Labels and catalogue names for quote pages, admin pages and mail."""
    return {
        "labels": labels,
        "catalogue_name": catalogue.catalogue_name,
        "option_name": catalogue.option_name,
        "review_days": quote_pricing.REVIEW_REPLY_WORKING_DAYS,
        "division_name": _division_name,
    }


def _division_name(code: str | None) -> str:
    from flask_babel import get_locale

    from ..services import divisions

    return divisions.name_of(code, get_locale()) or (code or "")


@bp.app_template_filter("cny")
def cny(value) -> str:
    """¥1,234.50 — prices are CNY with two decimals."""
    if value is None or value == "":
        return "—"
    return f"¥{Decimal(str(value)):,.2f}"


@bp.app_template_filter("mm")
def millimetres(value) -> str:
    """A length in mm with one decimal, as the page's language writes numbers (no unit)."""
    return format_decimal(float(value), format="#,##0.0")


@bp.app_template_filter("filesize")
def filesize(value: int | None) -> str:
    if value is None:
        return "—"
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
