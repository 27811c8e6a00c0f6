"""The customer's decision on a quote: cancel it, or accept it as an order (and tell staff)."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app

from ...extensions import db
from ...models import InvoiceProfile, Order, Quote, ShippingAddress, User
from ...models.base import utcnow
from ..accounts.addresses import needs_district
from ..orders.placement import place_order
from .records import QuoteError, expire_if_due, record_event

log = logging.getLogger(__name__)


def order_details_of(user: User) -> tuple[list[ShippingAddress], InvoiceProfile | None]:
    """The user's shipping addresses (default first) and invoice profile, for ordering."""
    addresses = list(
        db.session.scalars(
            db.select(ShippingAddress)
            .filter_by(user_id=user.id)
            .order_by(ShippingAddress.is_default.desc(), ShippingAddress.id)
        )
    )
    invoice = db.session.scalar(db.select(InvoiceProfile).filter_by(user_id=user.id))
    return addresses, invoice


def cancel_quote(quote: Quote, actor: User) -> None:
    """The customer withdraws an open quote (nothing is made)."""
    if not quote.is_open:
        raise QuoteError("not_cancellable")
    quote.status = "cancelled"
    record_event(quote, "cancelled", actor=actor)
    db.session.commit()


def accept_quote(
    quote: Quote,
    user: User,
    address_id: int,
    invoice_id: int,
    lead_choice: str = "standard",
    now: datetime | None = None,
) -> Order:
    """Order at the quoted price, shipped to one of the user's addresses, invoiced to their
    profile; staff are told by mail."""
    moment = now or utcnow()
    if expire_if_due(quote, moment) or quote.status != "quoted":
        raise QuoteError("not_acceptable")
    if quote.user_id != user.id:
        raise QuoteError("not_acceptable")
    address = db.session.scalar(
        db.select(ShippingAddress).filter_by(id=address_id, user_id=user.id)
    )
    invoice = db.session.scalar(db.select(InvoiceProfile).filter_by(id=invoice_id, user_id=user.id))
    if address is None:
        raise QuoteError("no_address")
    if needs_district(address):  # saved before districts were asked: the carrier needs it
        raise QuoteError("address_needs_district")
    if invoice is None:
        raise QuoteError("no_invoice_profile")
    if lead_choice == "expedited" and not quote.lead_days_expedited:
        raise QuoteError("no_expedited")
    quote.shipping_address_id = address.id
    quote.invoice_profile_id = invoice.id
    quote.lead_choice = "expedited" if lead_choice == "expedited" else "standard"
    quote.status = "ordered"
    quote.ordered_at = moment
    record_event(quote, "ordered", actor=user)
    order = place_order(quote, user, address, invoice, moment)
    notify_staff(quote)
    db.session.commit()  # the order and its announcement together
    log.info("quote.ordered quote=%s", quote.id)
    return order


def staff_recipients() -> list[str]:
    """STAFF_NOTIFY_EMAIL (comma-separated) if set, else every active staff account."""
    configured = current_app.config.get("STAFF_NOTIFY_EMAIL")
    if configured:
        return [a.strip() for a in str(configured).split(",") if a.strip()]
    staff = db.session.scalars(db.select(User).filter_by(is_staff=True))
    return [u.email for u in staff if u.email and u.is_active]


def notify_staff(quote: Quote) -> None:
    """Tell the operator an order came in (staff read mail in Chinese by default)."""
    from ..mail import external_url, send_mail

    for address in staff_recipients():
        send_mail(
            address,
            "quote_ordered",
            "zh_CN",
            ref=quote.ref,
            total=quote.payable_total,
            lead_choice=quote.lead_choice,
            link=external_url("admin.quote_detail", ref=quote.ref),
        )
