"""Translated names for the order workflow's codes (statuses, timeline notes, errors)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

STATUS = {
    "awaiting_payment": _l("Awaiting payment"),
    "paid": _l("Paid"),
    "in_production": _l("In production"),
    "shipped": _l("Shipped"),
    "delivered": _l("Delivered"),
    "cancelled": _l("Cancelled"),
    "refunded": _l("Refunded"),
}
TIMELINE = {
    "awaiting_payment": _l("Order placed; waiting for your payment"),
    "paid": _l("Payment received in full"),
    "in_production": _l("In production"),
    "shipped": _l("Shipped"),
    "delivered": _l("Delivered"),
    "cancelled": _l("Cancelled"),
    "refunded": _l("Refunded"),
}
NOTES = {
    "payment_received": _l("Payment received"),
    "payment_partial": _l("A payment smaller than the amount due arrived; we will contact you."),
    "payment_excess": _l(
        "A payment larger than the amount due arrived; we will refund the excess."
    ),
    "fapiao_issued": _l("Fapiao issued"),
    "refund_requested": _l("Refund requested from WeChat Pay"),
    "wechat_refunded": _l("WeChat Pay payment refunded to your WeChat account"),
}
NEXT_STEP = {
    "awaiting_payment": _l("Pay by corporate bank transfer (details below) or by WeChat Pay."),
    "paid": _l("We have your payment. Production starts shortly."),
    "in_production": _l("Your parts are being made. We ship by the date below."),
    "shipped": _l("Your parts are on their way. Follow them with the tracking link."),
    "delivered": _l("Delivered. Thank you for your order."),
    "cancelled": _l("This order was cancelled."),
    "refunded": _l("This order was cancelled and refunded."),
}
PAYMENT_METHOD = {"bank_transfer": _l("Corporate bank transfer"), "wechat": _l("WeChat Pay")}
PAYMENT_FLAG = {"partial": _l("Partial amount"), "excess": _l("Excess amount")}
ORDER_ERROR = {
    "not_staff": _l("Only staff can do this."),
    "bad_transition": _l("The order cannot move to this status from where it is."),
    "no_carrier": _l("Choose the carrier from the list."),
    "no_tracking": _l("Enter the tracking number (at most 40 characters)."),
    "not_payable": _l("This order takes no payment any more."),
    "bad_amount": _l("Enter an amount above zero."),
    "no_fapiao_number": _l("Enter the fapiao number (at most 40 characters)."),
    "bad_fapiao_file": _l("The fapiao must be a PDF or OFD file of at most 450 KB."),
    "no_files": _l("The drawings of this order are no longer available; please upload them again."),
}
PAY_ERROR = {
    "not_configured": _l("WeChat Pay is not available at the moment; please pay by bank transfer."),
    "unreachable": _l("WeChat Pay is not answering. Please try again in a minute."),
    "refused": _l(
        "WeChat Pay did not accept this payment. Please try again or pay by bank transfer."
    ),
    "confirming": _l(
        "A WeChat payment for this order has gone through and is being confirmed. "
        "This page updates when it is."
    ),
}
PAYMENT_STATUS = {
    "pending": _l("Waiting for confirmation"),
    "succeeded": _l("Received"),
    "refunded": _l("Refunded"),
    "closed": _l("Closed without payment"),
}
FAPIAO_TYPE = {
    "special": _l("VAT special invoice (增值税专用发票)"),
    "normal": _l("VAT normal invoice (增值税普通发票), electronic"),
}
