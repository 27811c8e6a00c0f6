"""Routes of one part: save its options (a plain form), its live price (JSON), attach a drawing."""

from __future__ import annotations

from flask import abort, current_app, flash, g, jsonify, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import limiter
from ..i18n import TICKET_LANGUAGE_KEY
from ..log_setup import SIGNED_IN_USER_KEY
from ..security import no_store
from ..services.quotes import part_quote, parts, price_tickets, records
from . import bp
from .access import quote_or_404
from .forms import AttachForm, PartForm
from .labels import QUOTE_ERROR, review_reason
from .part_forms import attach_form_for, part_form_for, part_options
from .views import detail_page


def _owned_part(ref: str, part_id: int):
    """Only the owner changes a part; staff and others get 404, as for any foreign quote."""
    quote = quote_or_404(ref)
    part = next((p for p in quote.parts if p.id == part_id), None)
    if part is None or quote.user_id != current_user.id:
        abort(404)
    return quote, part


@bp.post("/<ref>/parts/<int:part_id>")
@login_required
@no_store
def save_part(ref: str, part_id: int):
    quote, part = _owned_part(ref, part_id)
    form = part_form_for(quote, part, PartForm())
    if form.validate_on_submit():
        try:
            parts.save_options(quote, part, part_options(form), current_user)
        except records.QuoteError as exc:
            form.form_errors.append(str(QUOTE_ERROR.get(exc.code, exc.code)))
        else:
            flash(_("%(name)s: your choices are saved.", name=part.filename), "success")
            return redirect(url_for("quotes.detail", ref=quote.ref, _anchor=f"part-{part.id}"))
    return detail_page(quote, {part.id: form}, status=400)


TICKET_HEADER = "X-Price-Ticket"  # the quote page's signed ticket (price_tickets.py)


def _price_limit_key() -> str:
    """One allowance per sign-in, whichever way the price is worked out: Flask-Login's session
    id (user id and per-user token) is what `current_user.get_id()` gives, without the query."""
    return f"part-price:{session.get('_user_id') or current_user.get_id()}"


@bp.get("/<ref>/parts/<int:part_id>/price")
@limiter.limit(lambda: current_app.config["PART_PRICE_LIMIT"], key_func=_price_limit_key)
@no_store
def part_price(ref: str, part_id: int):
    """What the part would cost with the options in the query; nothing is saved. With the quote
    page's ticket for this part and this sign-in, from the rules and the ticket alone."""
    ticket = _ticket(ref, part_id)
    if ticket is None:
        return _checked_part_price(ref, part_id)
    g.setdefault(SIGNED_IN_USER_KEY, ticket.user_id)  # for the access log
    g.setdefault(TICKET_LANGUAGE_KEY, ticket.language)
    form = part_form_for(None, ticket.part, PartForm(formdata=request.args, meta={"csrf": False}))
    if not form.validate():
        return _invalid(form)
    result = part_quote.quote_part(ticket.part, part_options(form))
    body = part_quote.price_answer(result, ticket.others_subtotal, ticket.others_complete)
    return jsonify(with_texts(body, result))


def _ticket(ref: str, part_id: int) -> price_tickets.Ticket | None:
    """The request's ticket if it is for this part and was made for this browser's sign-in."""
    raw = request.headers.get(TICKET_HEADER)
    if not raw:
        return None
    ticket = price_tickets.read(raw, current_app.config["SECRET_KEY"])
    if ticket is None or ticket.ref != ref or ticket.part.id != part_id:
        return None
    return ticket if ticket.belongs_to(session.get("_user_id")) else None


@login_required
def _checked_part_price(ref: str, part_id: int):
    """Without a ticket: the user, the quote (owner or staff, else 404) and its parts."""
    quote = quote_or_404(ref)
    part = next((p for p in quote.parts if p.id == part_id), None)
    if part is None:
        abort(404)
    form = part_form_for(quote, part, PartForm(formdata=request.args, meta={"csrf": False}))
    if not form.validate():
        return _invalid(form)
    result = part_quote.quote_part(part, part_options(form), notes=quote.notes)
    return jsonify(price_json(quote, part, result))


def _invalid(form):
    fields = {f.name: [str(e) for e in f.errors] for f in form if f.errors}
    message = next(iter(fields.values()))[0] if fields else _("Please check your choices.")
    return jsonify(error={"code": "invalid", "message": message, "fields": fields}), 400


def price_json(quote, part, result: part_quote.PartQuote) -> dict:
    """The route contract's shape for `part` of `quote` as stored, with the page's texts."""
    return with_texts(part_quote.live_price(quote, part, result), result)


def with_texts(body: dict, result: part_quote.PartQuote) -> dict:
    """The review's message and the amounts as ¥, in the page's language."""
    from .views import cny

    if body["review"] is not None:
        body["review"]["message"] = str(review_reason(result.review_reason))
    totals = body["quote"]
    body["text"] = {
        "unit_price": cny(body["unit_price"]),
        "total": cny(body["total"]),
        "quote_subtotal": cny(totals["subtotal"]),
        "quote_vat": cny(totals["vat"]),
        "quote_total": cny(totals["total"]),
        "breaks": [cny(b["unit_price"]) for b in body["breaks"]],
    }
    return body


@bp.post("/<ref>/files/<int:drawing_id>/attach")
@login_required
def attach(ref: str, drawing_id: int):
    quote = quote_or_404(ref)
    drawing = records.drawing_of(quote, drawing_id)
    if drawing is None or quote.user_id != current_user.id:
        abort(404)
    form = attach_form_for(quote, drawing, AttachForm())
    if form.validate_on_submit():
        target = int(form.part_id.data) if form.part_id.data else None
        try:
            parts.attach(quote, drawing, target, current_user)
        except records.QuoteError as exc:
            flash(str(QUOTE_ERROR.get(exc.code, exc.code)), "error")
        else:
            flash(_("%(name)s is moved.", name=drawing.filename), "success")
    else:
        flash(_("Please choose a part."), "error")
    return redirect(url_for("quotes.detail", ref=quote.ref, _anchor=f"part-{drawing.id}"))
