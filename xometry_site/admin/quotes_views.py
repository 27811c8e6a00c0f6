"""Staff: the quote queue, a quote with its parts' instant prices, findings and drawings (downloads
are audited), and what staff decide: an engineer's price, a refusal, or a question."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..models import Quote
from ..quotes.access import drawing_or_404, quote_or_404
from ..quotes.downloads import drawing_response
from ..quotes.labels import QUOTE_ERROR
from ..security import no_store, staff_required
from ..services.quotes import questions, records, review
from . import bp
from .quote_forms import DeclineForm, QuestionForm, price_form_for

QUEUE_ORDER = ("in_review", "analysing", "quoted", "ordered", "expired", "cancelled", "declined")


@bp.get("/quotes")
@staff_required
@no_store
def quotes():
    status = request.args.get("status", "in_review")
    if status not in QUEUE_ORDER:
        status = "in_review"
    listed = review.quotes_with_status(status)
    return render_template(
        "admin/quotes.html",
        quotes=listed,
        status=status,
        statuses=QUEUE_ORDER,
        counts=review.review_queue_counts(),
        exchanges=questions.exchange_states(q.id for q in listed),
    )


@bp.route("/quotes/<ref>", methods=["GET", "POST"])
@staff_required
@no_store
def quote_detail(ref: str):
    quote = quote_or_404(ref)
    parts = review.parts_for_review(quote)
    form = price_form_for(quote, parts, submitted=request.method == "POST")
    if form.validate_on_submit():
        price = review.EngineerPrice(
            unit_prices={p.part.id: form[f"price_{p.part.id}"].data for p in parts},
            lead_days_standard=form.lead_days_standard.data,
            lead_days_expedited=form.lead_days_expedited.data,
            expedite_percent=form.expedite_percent.data,
            note=form.note.data,
        )
        try:
            review.set_engineer_price(quote, current_user, price)
        except records.QuoteError as exc:
            form.form_errors.append(str(QUOTE_ERROR.get(exc.code, exc.code)))
        else:
            flash(
                _("Quote %(ref)s is priced; the customer has been told.", ref=quote.ref), "success"
            )
            return redirect(url_for("admin.quotes"))
    return detail_page(quote, parts, price_form=form)


@bp.post("/quotes/<ref>/decline")
@staff_required
@no_store
def quote_decline(ref: str):
    quote = quote_or_404(ref)
    form = DeclineForm()
    if form.validate_on_submit():
        try:
            review.decline_quote(quote, current_user, form.reason.data, form.decline_note.data)
        except records.QuoteError as exc:
            form.form_errors.append(str(QUOTE_ERROR.get(exc.code, exc.code)))
        else:
            flash(
                _("Quote %(ref)s is declined; the customer has been told.", ref=quote.ref),
                "success",
            )
            return redirect(url_for("admin.quotes"))
    return detail_page(quote, review.parts_for_review(quote), decline_form=form)


@bp.post("/quotes/<ref>/question")
@staff_required
@no_store
def quote_question(ref: str):
    quote = quote_or_404(ref)
    form = QuestionForm()
    if form.validate_on_submit():
        try:
            questions.ask(quote, current_user, form.question.data)
        except records.QuoteError as exc:
            form.form_errors.append(str(QUOTE_ERROR.get(exc.code, exc.code)))
        else:
            flash(_("Your question is sent to the customer."), "success")
            return redirect(url_for("admin.quote_detail", ref=quote.ref, _anchor="questions"))
    return detail_page(quote, review.parts_for_review(quote), question_form=form)


def detail_page(quote: Quote, parts, *, price_form=None, decline_form=None, question_form=None):
    """The staff page; a refused form comes back with its errors (400), the others fresh."""
    refused = any(f is not None and f.errors for f in (price_form, decline_form, question_form))
    if price_form is None:
        price_form = price_form_for(quote, parts, submitted=False)
    return render_template(
        "admin/quote_detail.html",
        quote=quote,
        form=price_form,
        parts=parts,
        owner=review.owner_of(quote),
        price_fields={p.part.id: price_form[f"price_{p.part.id}"] for p in parts},
        downloads=review.staff_downloads(quote.live_drawings),
        decline_form=decline_form or DeclineForm(formdata=None),
        question_form=question_form or QuestionForm(formdata=None),
        awaits_answer=questions.awaits_answer(quote),
    ), (400 if refused else 200)


@bp.get("/quotes/<ref>/files/<int:drawing_id>")
@staff_required
def quote_file(ref: str, drawing_id: int):
    _quote, drawing = drawing_or_404(ref, drawing_id)
    return drawing_response(drawing, current_user)
