"""Orders: accepting a quote makes an order with a number and a frozen copy; the customer's order
pages; staff record transfers (partial and excess flagged), move it to shipped with a tracking
link and delivered, store the fapiao encrypted; reorder; owners only."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from conftest import sign_in
from test_quotes_pages import add_order_details
from test_quotes_support import csrf_token_from_page, cube_stl, files_containing, post_quote

from xometry_site.models import InvoiceProfile, Order, OrderEvent, Quote, ShippingAddress

FAPIAO = b"%PDF-1.7\n% e-fapiao 24312000000012345678\n%%EOF\n"


@pytest.fixture
def staff(make_user):
    return make_user(is_staff=True)


def place(client, db, customer, lead: str = "standard", size: float = 20.0) -> Order:
    assert post_quote(client, [("cube.stl", cube_stl(size))]).status_code == 303
    quote = db.session.scalar(db.select(Quote).order_by(Quote.id.desc()))
    address, invoice = add_order_details(db, customer)
    token = csrf_token_from_page(client, f"/quotes/{quote.ref}/accept")
    response = client.post(
        f"/quotes/{quote.ref}/accept",
        data={
            "csrf_token": token,
            "shipping_address_id": address.id,
            "invoice_profile_id": invoice.id,
            "lead_choice": lead,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    db.session.expire_all()
    order = db.session.scalar(db.select(Order).filter_by(quote_id=quote.id))
    assert response.headers["Location"].endswith(f"/orders/{order.number}")
    return order


def as_staff(client, login_as, staff):
    login_as(staff)
    return client


def test_accepting_a_quote_makes_a_numbered_order_with_a_frozen_copy(client, db, customer):
    order = place(client, db, customer)
    quote = db.session.get(Quote, order.quote_id)
    assert re.fullmatch(rf"XA-{date.today().year}-\d{{6}}", order.number)
    assert order.status == "awaiting_payment" and order.total == quote.total == quote.ordered_total
    assert order.subtotal + order.vat == order.total
    assert order.parts[0]["name"] == "cube.stl" and order.parts[0]["material"] == "al6061"
    assert order.invoice["tax_number"] == "91310000MA1FL0000X"
    # later edits of the profile and address do not change the placed order
    db.session.execute(db.update(ShippingAddress).values(recipient="李工"))
    invoice = db.session.scalar(db.select(InvoiceProfile))
    invoice.company_name = "改名后的公司"
    db.session.commit()
    html = client.get(f"/orders/{order.number}?lang=en").get_data(as_text=True)
    assert "王工" in html and "李工" not in html
    assert "上海测试机械有限公司" in html and "改名后的公司" not in html
    assert f"¥{order.total:,.2f}" in html
    assert order.remittance_reference in html and "Corporate bank transfer" in html
    listing = client.get("/orders/?lang=en").get_data(as_text=True)
    assert order.number in listing and "Awaiting payment" in listing


def test_the_invoice_copy_is_encrypted_in_the_database(client, db, customer):
    order = place(client, db, customer)
    raw = db.session.execute(
        db.text("SELECT invoice_sealed FROM orders WHERE id = :id"), {"id": order.id}
    ).scalar_one()
    assert "91310000MA1FL0000X" not in raw and "上海测试机械" not in raw


def test_expedited_orders_carry_the_expedited_total(client, db, customer):
    order = place(client, db, customer, lead="expedited")
    quote = db.session.get(Quote, order.quote_id)
    assert order.total == quote.expedite_total == quote.ordered_total
    assert order.lead_days == quote.lead_days_expedited
    assert f"¥{order.total:,.2f}" in client.get(f"/orders/{order.number}").get_data(as_text=True)


def test_other_customers_get_404_on_every_order_route(
    client, db, customer, make_user, login_as, staff
):
    order = place(client, db, customer)
    login_as(make_user())
    for path in ("", "/status", "/fapiao"):
        assert client.get(f"/orders/{order.number}{path}").status_code == 404
    assert client.post(f"/orders/{order.number}/reorder").status_code == 404
    login_as(staff)  # staff work on /admin/orders, not on the customer's pages
    assert client.get(f"/orders/{order.number}").status_code == 404
    assert client.get(f"/admin/orders/{order.number}").status_code == 200


def test_a_full_transfer_pays_the_order(client, db, customer, login_as, staff):
    order = place(client, db, customer)
    login_as(staff)
    response = client.post(
        f"/admin/orders/{order.number}/transfer",
        data={
            "amount": str(order.total),
            "received_on": date.today().isoformat(),
            "reference": "ICBC-778899",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.status == "paid" and order.amount_paid == order.total and order.paid_at
    assert order.payments[0].flag is None and order.payments[0].method == "bank_transfer"
    login_as(customer)
    assert client.get(f"/orders/{order.number}/status").get_json()["status"] == "paid"


@pytest.mark.parametrize(
    ("part", "flag", "status"), [("0.5", "partial", "awaiting_payment"), ("1.5", "excess", "paid")]
)
def test_a_wrong_amount_is_flagged_not_silently_accepted(
    client, db, customer, login_as, staff, part, flag, status
):
    order = place(client, db, customer)
    login_as(staff)
    amount = (order.total * Decimal(part)).quantize(Decimal("0.01"))
    response = client.post(
        f"/admin/orders/{order.number}/transfer",
        data={"amount": str(amount), "received_on": date.today().isoformat(), "reference": "R1"},
        follow_redirects=True,
    )
    assert "flagged" in response.get_data(as_text=True) or "标记" in response.get_data(as_text=True)
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.payments[0].flag == flag and order.status == status


def test_bad_transfer_input_is_400_with_a_message(client, db, customer, login_as, staff):
    order = place(client, db, customer)
    login_as(staff)
    response = client.post(
        f"/admin/orders/{order.number}/transfer?lang=en",
        data={"amount": "-3", "received_on": "yesterday", "reference": ""},
    )
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.get_data(as_text=True)


def test_production_shipping_with_tracking_link_and_delivery(client, db, customer, login_as, staff):
    order = place(client, db, customer)
    login_as(staff)
    client.post(
        f"/admin/orders/{order.number}/transfer",
        data={
            "amount": str(order.total),
            "received_on": date.today().isoformat(),
            "reference": "R",
        },
    )
    assert (
        client.post(
            f"/admin/orders/{order.number}/status", data={"status": "in_production"}
        ).status_code
        == 302
    )
    # shipping without a carrier or a number is refused with the reason next to the field
    refused = client.post(
        f"/admin/orders/{order.number}/status?lang=en",
        data={"status": "shipped", "tracking_number": "SF1"},
    )
    assert refused.status_code == 400 and "Choose the carrier" in refused.get_data(as_text=True)
    shipped = client.post(
        f"/admin/orders/{order.number}/status",
        data={"status": "shipped", "carrier": "sf", "tracking_number": "SF1234567890"},
    )
    assert shipped.status_code == 302
    assert (
        client.post(f"/admin/orders/{order.number}/status", data={"status": "paid"}).status_code
        == 400
    )
    login_as(customer)
    html = client.get(f"/orders/{order.number}?lang=en").get_data(as_text=True)
    assert "SF Express" in html and "SF1234567890" in html
    assert "https://www.sf-express.com/" in html and "SF1234567890" in html
    login_as(staff)
    client.post(f"/admin/orders/{order.number}/status", data={"status": "delivered"})
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "delivered"


def test_the_board_flags_overdue_orders(client, db, customer, login_as, staff):
    order = place(client, db, customer)
    order.ship_by = date.today() - timedelta(days=3)
    db.session.commit()
    login_as(staff)
    overdue = client.get("/admin/orders?filter=overdue&lang=en").get_data(as_text=True)
    assert order.number in overdue and "Overdue" in overdue
    waiting = client.get("/admin/orders?filter=awaiting_payment").get_data(as_text=True)
    assert order.number in waiting
    assert order.number not in client.get("/admin/orders?filter=shipped").get_data(as_text=True)


def test_the_fapiao_is_stored_encrypted_and_downloaded_by_its_owner(
    app, client, db, customer, login_as, staff, tmp_path
):
    import io
    import time

    from test_quotes_support import plaintext_roots

    order = place(client, db, customer)
    login_as(staff)
    started = time.time()
    bad = client.post(
        f"/admin/orders/{order.number}/fapiao",
        data={"number": "24312000000012345678", "file": (io.BytesIO(b"not a pdf"), "f.pdf")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400
    good = client.post(
        f"/admin/orders/{order.number}/fapiao",
        data={"number": "24312000000012345678", "file": (io.BytesIO(FAPIAO), "发票.pdf")},
        content_type="multipart/form-data",
    )
    assert good.status_code == 302
    assert files_containing(b"e-fapiao 2431", plaintext_roots(app), started) == []
    login_as(customer)
    page = client.get(f"/orders/{order.number}").get_data(as_text=True)
    assert "24312000000012345678" in page
    download = client.get(f"/orders/{order.number}/fapiao")
    assert download.status_code == 200 and download.data == FAPIAO
    assert download.headers["Cache-Control"] == "no-store"
    assert "24312000000012345678" in client.get("/privacy").get_data(as_text=True)


def test_reorder_starts_a_new_quote_with_the_same_parts_at_todays_prices(client, db, customer):
    order = place(client, db, customer)
    response = client.post(f"/orders/{order.number}/reorder")
    assert response.status_code == 302
    db.session.expire_all()
    newest = db.session.scalar(db.select(Quote).order_by(Quote.id.desc()))
    assert newest.id != order.quote_id and response.headers["Location"].endswith(newest.ref)
    assert newest.status == "quoted"
    old = db.session.get(Quote, order.quote_id)
    (copy,), (original,) = newest.parts, old.parts
    assert (copy.material, copy.quantity, copy.filename) == (
        original.material,
        original.quantity,
        original.filename,
    )
    assert copy.blob_id != original.blob_id and copy.sha256 == original.sha256
    assert copy.unit_price == original.unit_price  # same rules today


def test_the_reorder_button_carries_the_token_its_form_is_checked_with(app, client, db, customer):
    order = place(client, db, customer)
    app.config["WTF_CSRF_ENABLED"] = True  # as in production
    page = client.get(f"/orders/{order.number}").get_data(as_text=True)
    form = re.search(r'action="/orders/[^"]+/reorder".*?</form>', page, re.S).group(0)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    refused = client.post(f"/orders/{order.number}/reorder", data={"csrf_token": "forged"})
    assert refused.status_code == 400
    taken = client.post(f"/orders/{order.number}/reorder", data={"csrf_token": token})
    assert taken.status_code == 302 and "/quotes/" in taken.headers["Location"]


def test_the_kept_pay_section_carries_each_browsers_own_token(app, client, db, customer):
    """The pay section is kept per order state (orders/sections.py); its WeChat Pay button's
    CSRF token is written in per view, and the bank details follow the settings."""
    order = place(client, db, customer)
    app.config["WECHATPAY_MCHID"] = "1900000001"  # the button shows (nothing is paid here)
    page = f"/orders/{order.number}?lang=en"
    client.get(page)  # the "order placed" message is shown once
    pay_form = re.compile(
        r'id="wechat-pay-form">\s*<input type="hidden" name="csrf_token" value="([^"]+)"'
    )
    first = client.get(page).get_data(as_text=True)
    again = client.get(page).get_data(as_text=True)
    other = app.test_client()
    sign_in(other, customer)
    theirs = other.get(page).get_data(as_text=True)
    (mine,), (mine_again,), (their_token,) = (pay_form.findall(p) for p in (first, again, theirs))
    assert mine == mine_again and mine != their_token and "csrfTokenOf" not in first + theirs
    assert first.replace(mine, "") == again.replace(mine, "")  # kept, same bytes
    assert 'id="remittance-reference"' in first and order.remittance_reference in first
    app.config["BANK_ACCOUNT_NUMBER"] = "6222 0000 1111 2222"
    assert "6222 0000 1111 2222" in client.get(page).get_data(as_text=True)


def test_the_customer_is_told_at_once_in_their_language(client, db, customer, mailbox):
    from xometry_site.models import Notification

    order = place(client, db, customer)
    confirmation = [m for m in mailbox if m["X-Envelope-To"] == customer.email]
    assert len(confirmation) == 1 and order.number in confirmation[0]["Subject"]
    body = confirmation[0].get_body(("plain",)).get_content()
    assert f"/orders/{order.number}" in body and f"¥{order.total:,.2f}" in body
    assert "订单" in confirmation[0]["Subject"]  # the customer reads Chinese
    (message,) = db.session.scalars(db.select(Notification).filter_by(user_id=customer.id))
    assert message.kind == "order_confirmed" and message.link_path == f"/orders/{order.number}"
    assert order.number in client.get("/account/notifications").get_data(as_text=True)


def test_an_account_without_e_mail_gets_the_confirmation_by_text(
    app, client, db, make_user, login_as
):
    from wechat_support import sms_lines

    from xometry_site.models.base import utcnow

    buyer = make_user(email=None, email_verified_at=None, password=None, phone_verified_at=utcnow())
    login_as(buyer)
    order = place(client, db, buyer)
    texts = [line for line in sms_lines(app) if line["to"] == buyer.phone]
    assert len(texts) == 1 and order.number in texts[0]["text"]
    assert f"/orders/{order.number}" in texts[0]["text"]


def test_the_order_page_follows_every_change_and_language(
    app, client, db, customer, login_as, staff
):
    """Its sections are kept per order state (orders/sections.py): never a stale page."""
    order = place(client, db, customer)
    number = order.number
    page = f"/orders/{number}"
    client.get(page)  # the "order placed" message is shown once
    first = client.get(page + "?lang=en").get_data(as_text=True)
    assert 'id="pay"' in first
    assert client.get(page + "?lang=en").get_data(as_text=True) == first  # kept, same bytes
    chinese = client.get(page + "?lang=zh_CN").get_data(as_text=True)
    assert "订单" in chinese and "Placed" not in chinese
    login_as(staff)
    client.post(
        f"/admin/orders/{number}/transfer",
        data={
            "amount": str(order.total),
            "received_on": date.today().isoformat(),
            "reference": "R",
        },
    )
    login_as(customer)
    paid = client.get(page + "?lang=en").get_data(as_text=True)
    assert paid != first and 'id="pay"' not in paid
    history = re.findall(r"<li><time", paid)
    assert len(history) > len(re.findall(r"<li><time", first))
    # a step that changes nothing on the order's row (a refund asked of WeChat Pay) is shown too
    kept = db.session.get(Order, order.id)
    stamp = kept.updated_at
    kept.events.append(OrderEvent(status=kept.status, note="refund_requested"))
    db.session.commit()
    assert db.session.get(Order, order.id).updated_at == stamp
    later = client.get(page + "?lang=en").get_data(as_text=True)
    assert "Refund requested from WeChat Pay" in later and "Refund requested" not in paid
    # a CSRF token is never kept: another browser of the same customer gets its own
    other = app.test_client()
    sign_in(other, customer)
    token = re.compile(r'name="csrf_token"[^>]*value="([^".]+)')
    mine = set(token.findall(paid))
    theirs = set(token.findall(other.get(page + "?lang=en").get_data(as_text=True)))
    assert mine and theirs and not mine & theirs
