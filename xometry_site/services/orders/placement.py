"""Placing an order: the accepted quote, address and invoice profile copied as they are now."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

from ...extensions import db
from ...models import InvoiceProfile, Order, OrderEvent, Quote, ShippingAddress, User
from ...models.base import utcnow
from ..quotes.part_quote import options_of
from ..quotes.records import money
from ..working_days import add_working_days

log = logging.getLogger(__name__)


def place_order(
    quote: Quote,
    user: User,
    address: ShippingAddress,
    invoice: InvoiceProfile,
    now: datetime | None = None,
) -> Order:
    """The order of an accepted quote (the caller has set quote.lead_choice and commits): its
    number, its remittance reference and what it was accepted with. The order's total is the sum
    of its lines plus VAT, and the quote's ordered total is set to it: one figure everywhere."""
    moment = now or utcnow()
    expedited = quote.lead_choice == "expedited"
    lead_days = int((quote.lead_days_expedited if expedited else quote.lead_days_standard) or 0)
    parts = parts_snapshot(quote)
    vat_rate = quote.vat_rate if quote.vat_rate is not None else Decimal("0.13")
    subtotal = money(sum((Decimal(p["line_total"]) for p in parts), Decimal(0)))
    vat = money(subtotal * vat_rate)
    total = subtotal + vat
    quote.ordered_total = total
    order = Order(
        user_id=user.id,
        quote_id=quote.id,
        status="awaiting_payment",
        lead_choice=quote.lead_choice or "standard",
        lead_days=lead_days,
        ship_by=add_working_days(moment, lead_days),
        subtotal=subtotal,
        vat_rate=vat_rate,
        vat=vat,
        total=total,
        amount_paid=Decimal(0),
        remittance_reference="-",
        parts=parts,
        shipping=address_snapshot(address),
        created_at=moment,
    )
    order.invoice = invoice_snapshot(invoice)
    order.events.append(OrderEvent(status="awaiting_payment", actor_id=user.id))
    db.session.add(order)
    db.session.flush()
    order.number = f"XA-{moment.year}-{order.id:06d}"
    # what the buyer writes in the transfer's remark: short, no letters a bank form mangles
    order.remittance_reference = f"XA{moment.year % 100:02d}{order.id:06d}"
    from .notices import tell_customer

    tell_customer(order, "order_confirmed")
    log.info("order.placed order=%s quote=%s", order.id, quote.id)
    return order


def parts_snapshot(quote: Quote) -> list[dict[str, Any]]:
    """Each part as priced: options and money, names resolved later from the codes."""
    expedited = quote.lead_choice == "expedited"
    parts = []
    for part in quote.parts:
        options = options_of(part, quote)
        unit, line = part.unit_price, part.line_total
        fast = (part.price_breakdown or {}).get("expedited")
        if expedited and fast:
            unit, line = Decimal(fast["unit_price"]), Decimal(fast["subtotal"])
        elif expedited and (part.price_breakdown or {}).get("expedited_subtotal"):
            line = Decimal(part.price_breakdown["expedited_subtotal"])
            unit = money(line / options.quantity)
        parts.append(
            {
                "drawing_id": part.id,
                "name": part.filename,
                "drawings": [d.filename for d in quote.attachments_of(part)],
                **options.as_dict(),
                "unit_price": str(unit),
                "line_total": str(line),
            }
        )
    return parts


def address_snapshot(address: ShippingAddress) -> dict[str, Any]:
    return {
        key: getattr(address, key, None)
        for key in (
            "organization",
            "recipient",
            "phone",
            "province",
            "city",
            "district",
            "address",
            "postal_code",
        )
    }


def invoice_snapshot(invoice: InvoiceProfile) -> dict[str, Any]:
    return {
        key: getattr(invoice, key, None)
        for key in (
            "kind",
            "fapiao_type",
            "company_name",
            "name",
            "tax_number",
            "company_address",
            "company_phone",
            "province",
            "city",
            "district",
            "address",
            "postal_code",
            "bank_name",
            "bank_account",
            "invoice_email",
        )
    }
