"""Route of the customer's answer to a staff question about their quote."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import limiter
from ..security import no_store
from ..services.quotes import questions, records
from . import bp
from .access import quote_or_404
from .forms import AnswerForm
from .labels import QUOTE_ERROR
from .views import detail_page

ANSWER_LIMIT = "30 per hour"  # far above a real exchange; each answer is a stored row


@bp.post("/<ref>/answer")
@login_required
@limiter.limit(ANSWER_LIMIT, key_func=lambda: f"quote-answer:{current_user.get_id()}")
@no_store
def answer(ref: str):
    quote = quote_or_404(ref)
    if quote.user_id != current_user.id:  # staff read the quote; only its owner answers
        abort(404)
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            questions.answer(quote, current_user, form.answer.data)
        except records.QuoteError as exc:
            flash(str(QUOTE_ERROR.get(exc.code, exc.code)), "error")
        else:
            flash(_("Thank you: your answer is sent to our engineer."), "success")
        return redirect(url_for("quotes.detail", ref=quote.ref, _anchor="questions"))
    return detail_page(quote, answer_form=form, status=400)
