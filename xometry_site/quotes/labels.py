"""Translated names for the codes the quote workflow stores (statuses, reasons, refusals)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..services.quotes import geometry, pricing, review

STATUS = {
    "analysing": _l("Analysing"),
    "quoted": _l("Quoted"),
    "in_review": _l("In review"),
    "ordered": _l("Order placed"),
    "cancelled": _l("Cancelled"),
    "expired": _l("Expired"),
    "declined": _l("Declined"),
}

TIMELINE = {
    "analysing": _l("Drawings received and being analysed"),
    "quoted": _l("Price ready"),
    "in_review": _l("Sent to an engineer for review"),
    "ordered": _l("Order placed"),
    "cancelled": _l("Cancelled"),
    "expired": _l("The price expired"),
    "declined": _l("We declined to quote it"),
}

PRICE_SOURCE = pricing.SOURCE_LABELS
LEAD_CHOICE = {"standard": _l("Standard"), "expedited": _l("Expedited")}
DFM_SEVERITY = {"info": _l("Note"), "warning": _l("Check"), "review": _l("Engineer review")}

# Why a part or a quote went to an engineer: the geometry and pricing services' reason codes.
REVIEW_REASON = {**geometry.REASON_LABELS, **pricing.REASON_LABELS}
REVIEW_REASON_DEFAULT = _l("An engineer checks this quote by hand.")
WARNING = pricing.WARNING_LABELS

# Why staff decline: the short names staff choose from, and what the customer reads.
DECLINE_CHOICE = {
    "cannot_make": _l("Cannot be made"),
    "outside_processes": _l("Outside our processes"),
    "drawing_incomplete": _l("Drawing incomplete"),
    "other": _l("Other (say why in the note)"),
}
DECLINE_REASON = review.DECLINE_REASON_LABELS
MESSAGE_AUTHOR = {"question": _l("Our engineer's question"), "answer": _l("Your answer")}
BREAKDOWN = pricing.BREAKDOWN_LABELS

UPLOAD_REFUSAL = {
    "bad_extension": _l(
        "%(name)s: this type of file is not accepted. Accepted: STEP, IGES, STL, 3MF, OBJ, Parasolid (X_T, X_B), SLDPRT, DXF, DWG and PDF."
    ),
    "bad_content": _l("%(name)s: the content does not match its file type. Nothing was stored."),
    "empty_file": _l("%(name)s is empty. Nothing was stored."),
    "too_many_files": _l("Too many files: at most %(limit)s per quote. Nothing was stored."),
    "file_too_large": _l("%(name)s is larger than %(limit)s. Nothing was stored."),
    "form_too_large": _l("The form is too large. Nothing was stored."),
    "too_many_parts": _l("The form has too many parts. Nothing was stored."),
    "no_filename": _l("A file without a name was sent. Nothing was stored."),
    "interrupted": _l("The upload was interrupted. Nothing was stored; please try again."),
    "malformed": _l("The upload could not be read. Nothing was stored; please try again."),
    "not_multipart": _l("The upload could not be read. Nothing was stored; please try again."),
    "no_files": _l("Please choose at least one drawing."),
    "bad_encoding": _l(
        "A file name or form field name could not be read (it is not UTF-8). Please rename the file and try again. Nothing was stored."
    ),
}

QUOTE_ERROR = {
    "not_cancellable": _l("This quote can no longer be cancelled."),
    "not_acceptable": _l("This quote cannot be ordered (it is not priced, or the price expired)."),
    "no_address": _l("Please choose one of your shipping addresses."),
    "address_needs_district": _l(
        "This shipping address has no district or county yet. Please add it, then place the order."
    ),
    "no_invoice_profile": _l("Please choose your invoice details."),
    "no_expedited": _l("The expedited lead time is not offered for this quote."),
    "missing_part_price": _l("Enter a price above zero for every part."),
    "not_reviewable": _l("This quote cannot be priced any more."),
    "not_staff": _l("Only staff can do this."),
    "not_a_part": _l("This file is not a part of this quote."),
    "not_a_drawing": _l("Only a 2D drawing (PDF, DWG, DXF) can be attached to a part."),
    "bad_combination": _l("This material or finish is not offered for the chosen process."),
    "not_changeable": _l("This quote can no longer be changed."),
    "not_owner": _l("Only the customer who asked for this quote can change it."),
    "not_declinable": _l("This quote can no longer be declined."),
    "bad_decline_reason": _l("Please choose a reason."),
    "decline_note_needed": _l("Please say in the note why we cannot quote it."),
    "not_askable": _l("Questions can only be asked while the quote is in review."),
    "no_open_question": _l("There is no question to answer on this quote."),
    "empty_message": _l("Please write something."),
    "message_too_long": _l("This is too long: at most %(limit)s characters.", limit="2,000"),
}


def review_reason(code: str | None):
    return REVIEW_REASON.get(code or "", REVIEW_REASON_DEFAULT)


def warning(code: str):
    return WARNING.get(code, code)
