"""Staff: the quote queue, a quote with its drawings (downloads are audited), engineer prices."""

from __future__ import annotations

from decimal import Decimal

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DecimalField, IntegerField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ..forms import SiteForm
from ..models import Quote
from ..quotes.access import drawing_or_404, quote_or_404
from ..quotes.downloads import drawing_response
from ..quotes.labels import QUOTE_ERROR
from ..security import no_store, staff_required
from ..services.quotes import records, review
from . import bp

QUEUE_ORDER = ("in_review", "analysing", "quoted", "ordered", "expired", "cancelled")


class EngineerPriceForm(SiteForm):
    """Lead times, expedite surcharge and a note; one `price_<drawing id>` field is added per part."""

    lead_days_standard = IntegerField(
        _l("Standard lead time (working days)"),
        validators=[InputRequired(), NumberRange(min=1, max=365)],
    )
    lead_days_expedited = IntegerField(
        _l("Expedited lead time (working days, empty: not offered)"),
        validators=[Optional(), NumberRange(min=1, max=365)],
    )
    expedite_percent = DecimalField(
        _l("Expedite surcharge (%)"), places=0, validators=[Optional(), NumberRange(min=0, max=500)]
    )
    note = TextAreaField(_l("Note to the customer"), validators=[Optional(), Length(max=2000)])


def price_form_for(quote: Quote) -> EngineerPriceForm:
    """The form with a unit-price field per live drawing, pre-filled with any instant price."""

    class Form(EngineerPriceForm):
        pass

    for drawing in quote.parts:
        setattr(
            Form,
            f"price_{drawing.id}",
            DecimalField(
                drawing.filename,
                places=2,
                default=drawing.unit_price,
                validators=[InputRequired(), NumberRange(min=Decimal("0.01"))],
            ),
        )
    defaults = review.engineer_defaults(quote)
    form = Form(**defaults) if request.method == "GET" else Form()
    return form


@bp.get("/quotes")
@staff_required
@no_store
def quotes():
    status = request.args.get("status", "in_review")
    if status not in QUEUE_ORDER:
        status = "in_review"
    return render_template(
        "admin/quotes.html",
        quotes=review.quotes_with_status(status),
        status=status,
        statuses=QUEUE_ORDER,
        counts=review.review_queue_counts(),
    )


@bp.route("/quotes/<ref>", methods=["GET", "POST"])
@staff_required
@no_store
def quote_detail(ref: str):
    quote = quote_or_404(ref)
    form = price_form_for(quote)
    if form.validate_on_submit():
        price = review.EngineerPrice(
            unit_prices={d.id: form[f"price_{d.id}"].data for d in quote.parts},
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
    return render_template(
        "admin/quote_detail.html",
        quote=quote,
        form=form,
        drawings=quote.live_drawings,
        owner=review.owner_of(quote),
        price_fields=[form[f"price_{d.id}"] for d in quote.parts],
        downloads=review.staff_downloads(quote.live_drawings),
    ), (400 if form.errors else 200)


@bp.get("/quotes/<ref>/files/<int:drawing_id>")
@staff_required
def quote_file(ref: str, drawing_id: int):
    _quote, drawing = drawing_or_404(ref, drawing_id)
    return drawing_response(drawing, current_user)
