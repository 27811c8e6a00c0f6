"""The customer's quote pages: list, detail, download, cancel, accept (order)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from test_quotes_support import (
    cube_stl,
    pdf_bytes,
    post_quote,
    stored_files,
)

from xometry_site.models import InvoiceProfile, Quote, ShippingAddress
from xometry_site.models.base import utcnow


@pytest.fixture
def staff(make_user):
    return make_user(is_staff=True)


def upload(client, db, files, **fields) -> Quote:
    assert post_quote(client, files, **fields).status_code == 303
    db.session.expire_all()
    return db.session.scalar(db.select(Quote).order_by(Quote.id.desc()))


def add_order_details(db, user) -> tuple[ShippingAddress, InvoiceProfile]:
    address = ShippingAddress(
        user_id=user.id,
        recipient="王工",
        address="张江路 100 号",
        phone="+8613800000001",
        province="310000",
        city="310100",
        district="310115",
        postal_code="201203",
        is_default=True,
    )
    invoice = InvoiceProfile(
        user_id=user.id, kind="corporate", company_name="上海测试机械有限公司",
        tax_number="91310000MA1FL0000X",
    )  # fmt: skip
    db.session.add_all([address, invoice])
    db.session.commit()
    return address, invoice


def test_list_shows_status_total_and_validity(client, db, customer):
    quote = upload(client, db, [("cube.stl", cube_stl())])
    html = client.get("/quotes/?lang=en").get_data(as_text=True)
    assert quote.ref in html
    assert "Quoted" in html
    assert f"¥{quote.total:,.2f}" in html
    assert quote.valid_until.strftime("%Y") in html


def test_download_returns_the_original_bytes_as_a_safe_attachment(client, db, customer):
    data = cube_stl(header=b"original bytes")
    quote = upload(client, db, [("零件 图.stl", data)])
    drawing = quote.drawings[0]
    response = client.get(f"/quotes/{quote.ref}/files/{drawing.id}")
    assert response.status_code == 200
    assert response.data == data
    assert response.mimetype == "application/octet-stream"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E9%9B%B6%E4%BB%B6%20%E5%9B%BE.stl" in disposition
    assert 'filename="' in disposition and "零" not in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Length"] == str(len(data))


@pytest.mark.parametrize("where", ["header", "middle", "end"])
def test_a_flipped_ciphertext_byte_is_refused_with_a_friendly_page(
    app, client, db, customer, where
):
    data = pdf_bytes() + b"%" * 1_800_000  # two 1 MiB segments; PDFs are not analysed
    quote = upload(client, db, [("big.pdf", data)])
    drawing = quote.drawings[0]
    blob = next(p for p in stored_files(app) if p.name == drawing.blob_id)
    raw = bytearray(blob.read_bytes())
    offset = {"header": 5, "middle": len(raw) // 2, "end": len(raw) - 3}[where]
    raw[offset] ^= 0x01
    Path(blob).write_bytes(bytes(raw))
    response = client.get(f"/quotes/{quote.ref}/files/{drawing.id}?lang=en")
    assert response.status_code == 409
    assert "could not be read back intact" in response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"


def test_cancel_an_open_quote(client, db, customer):
    quote = upload(client, db, [("cube.stl", cube_stl())])
    response = client.post(f"/quotes/{quote.ref}/cancel")
    assert response.status_code == 302
    db.session.expire_all()
    assert quote.status == "cancelled"
    assert [e.status for e in quote.events][-1] == "cancelled"
    client.post(f"/quotes/{quote.ref}/cancel")  # again: refused calmly
    assert quote.status == "cancelled"
    # the status timeline shows every step, in order
    page = client.get(f"/quotes/{quote.ref}?lang=en").get_data(as_text=True)
    history = page[page.index("History") :]
    steps = ["Drawings received and being analysed", "Price ready", "Cancelled"]
    assert [history.index(step) for step in steps] == sorted(history.index(s) for s in steps)


def test_accept_offers_links_to_add_address_and_invoice_with_next(client, db, customer):
    quote = upload(client, db, [("cube.stl", cube_stl())])
    html = client.get(f"/quotes/{quote.ref}/accept").get_data(as_text=True)
    assert f"/account/addresses/new?next=%2Fquotes%2F{quote.ref}%2Faccept" in html
    assert f"/account/invoice?next=%2Fquotes%2F{quote.ref}%2Faccept" in html
    response = client.post(f"/quotes/{quote.ref}/accept", data={"lead_choice": "standard"})
    assert response.status_code == 400
    db.session.expire_all()
    assert quote.status == "quoted"


def test_accept_orders_and_mails_staff(app, client, db, customer, staff, mailbox):
    quote = upload(client, db, [("cube.stl", cube_stl())])
    address, invoice = add_order_details(db, customer)
    html = client.get(f"/quotes/{quote.ref}/accept").get_data(as_text=True)
    assert "王工" in html and "上海测试机械有限公司" in html
    response = client.post(
        f"/quotes/{quote.ref}/accept",
        data={
            "shipping_address_id": address.id,
            "invoice_profile_id": invoice.id,
            "lead_choice": "expedited",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert quote.status == "ordered"
    assert quote.ordered_at is not None
    assert (quote.shipping_address_id, quote.invoice_profile_id) == (address.id, invoice.id)
    assert quote.lead_choice == "expedited"
    # staff are told of the order, the customer gets its confirmation
    assert sorted(m["X-Envelope-To"] for m in mailbox) == sorted([staff.email, customer.email])
    to_staff = next(m for m in mailbox if m["X-Envelope-To"] == staff.email)
    assert quote.ref in to_staff["Subject"]


def test_staff_notice_goes_to_the_configured_address(app, client, db, customer, staff, mailbox):
    app.config["STAFF_NOTIFY_EMAIL"] = "orders@xometry.asia"
    quote = upload(client, db, [("cube.stl", cube_stl())])
    address, invoice = add_order_details(db, customer)
    client.post(
        f"/quotes/{quote.ref}/accept",
        data={"shipping_address_id": address.id, "invoice_profile_id": invoice.id,
              "lead_choice": "standard"},
    )  # fmt: skip
    staff_mail = [m["X-Envelope-To"] for m in mailbox if m["X-Envelope-To"] != customer.email]
    assert staff_mail == ["orders@xometry.asia"]


def test_accept_refuses_another_users_address(client, db, customer, make_user):
    quote = upload(client, db, [("cube.stl", cube_stl())])
    other = make_user()
    foreign_address, _ = add_order_details(db, other)
    _, invoice = add_order_details_invoice_only(db, customer)
    response = client.post(
        f"/quotes/{quote.ref}/accept",
        data={"shipping_address_id": foreign_address.id, "invoice_profile_id": invoice.id,
              "lead_choice": "standard"},
    )  # fmt: skip
    assert response.status_code == 400
    db.session.expire_all()
    assert quote.status == "quoted"


def add_order_details_invoice_only(db, user):
    invoice = InvoiceProfile(user_id=user.id, kind="personal", name="王工")
    db.session.add(invoice)
    db.session.commit()
    return None, invoice


def test_expired_quote_cannot_be_ordered(client, db, customer):
    quote = upload(client, db, [("cube.stl", cube_stl())])
    address, invoice = add_order_details(db, customer)
    quote.valid_until = utcnow() - timedelta(minutes=1)
    db.session.commit()
    html = client.get("/quotes/?lang=en").get_data(as_text=True)
    assert "Expired" in html
    response = client.post(
        f"/quotes/{quote.ref}/accept",
        data={"shipping_address_id": address.id, "invoice_profile_id": invoice.id,
              "lead_choice": "standard"},
    )  # fmt: skip
    assert response.status_code == 302
    db.session.expire_all()
    assert quote.status == "expired"


def test_in_review_quote_cannot_be_ordered(client, db, customer):
    quote = upload(client, db, [("plan.pdf", pdf_bytes())])
    assert quote.status == "in_review"
    response = client.get(f"/quotes/{quote.ref}/accept")
    assert response.status_code == 302


def test_shredding_a_drawing_destroys_its_keys_and_files(app, client, db, customer):
    from xometry_site.services.quotes.drawing_files import shred_drawing

    quote = upload(client, db, [("cube.stl", cube_stl())])
    drawing = quote.drawings[0]
    blob_ids = {drawing.blob_id, drawing.preview_blob_id}
    assert blob_ids <= {p.name for p in stored_files(app)}
    shred_drawing(drawing)
    db.session.expire_all()
    assert drawing.wrapped_key is None and drawing.preview_wrapped_key is None
    assert drawing.deleted_at is not None
    assert not blob_ids & {p.name for p in stored_files(app)}
    assert client.get(f"/quotes/{quote.ref}/files/{drawing.id}").status_code == 404
    assert client.get(f"/quotes/{quote.ref}/files/{drawing.id}/preview.png").status_code == 404
    assert "cube.stl" not in client.get(f"/quotes/{quote.ref}").get_data(as_text=True)


def delete_form(html: str) -> dict[str, str]:
    """The quote page's delete form: where it posts, its CSRF token and confirmation question."""
    import re

    form = re.search(r'<form[^>]*id="quote-delete".*?</form>', html, re.S)
    assert form, "the quote page offers no delete"
    found = {
        "action": re.search(r'action="([^"]+)"', form.group(0)).group(1),
        "confirm": re.search(r'data-confirm="([^"]+)"', form.group(0)).group(1),
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', form.group(0)).group(1),
    }
    assert re.search(r'method="post"', form.group(0))
    return found


class TestDeleteFromTheQuotePage:
    """The quote page's "Delete this quote" posts to the privacy center's delete, CSRF-checked."""

    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def upload(self, client, db):
        from test_quotes_support import csrf_token_from_page

        token = csrf_token_from_page(client)
        return upload(client, db, [("cube.stl", cube_stl())], csrf=token)

    def test_delete_removes_the_quote_and_its_files(self, app, client, db, customer):
        quote = self.upload(client, db)
        ref, blobs = quote.ref, {quote.drawings[0].blob_id, quote.drawings[0].preview_blob_id}
        form = delete_form(client.get(f"/quotes/{ref}?lang=en").get_data(as_text=True))
        assert form["action"] == f"/privacy/quotes/{ref}/delete"
        assert "cannot be undone" in form["confirm"]
        assert client.post(form["action"]).status_code == 400  # no CSRF token: refused
        assert client.get(f"/quotes/{ref}").status_code == 200
        response = client.post(form["action"], data={"csrf_token": form["csrf_token"]})
        assert response.status_code == 302
        db.session.expire_all()
        assert db.session.scalar(db.select(Quote).filter_by(ref=ref)) is None
        assert client.get(f"/quotes/{ref}").status_code == 404
        assert not blobs & {p.name for p in stored_files(app)}

    def test_an_ordered_quote_offers_no_delete_and_says_why(self, client, db, customer):
        quote = self.upload(client, db)
        quote.status, quote.ordered_at = "ordered", utcnow()
        db.session.commit()
        html = client.get(f"/quotes/{quote.ref}?lang=en").get_data(as_text=True)
        assert 'id="quote-delete"' not in html
        assert "kept as the law requires" in html

    def test_staff_viewing_a_quote_get_no_delete(self, client, db, customer, staff, login_as):
        quote = self.upload(client, db)
        login_as(staff)
        html = client.get(f"/quotes/{quote.ref}").get_data(as_text=True)
        assert 'id="quote-delete"' not in html


def form_action(html: str, marker: str) -> str:
    """The action of the first POST form whose tag contains `marker` (HTML entities undone)."""
    import html as entities
    import re

    for tag in re.findall(r'<form method="post"[^>]*>', html):
        if marker in tag:
            return entities.unescape(re.search(r'action="([^"]*)"', tag).group(1))
    raise AssertionError(f"no form with {marker!r}")


def test_adding_an_address_from_the_accept_page_comes_back_to_it(client, db, customer):
    from test_account_addresses import VALID

    quote = upload(client, db, [("cube.stl", cube_stl())])
    accept = f"/quotes/{quote.ref}/accept"
    link = f"/account/addresses/new?next=%2Fquotes%2F{quote.ref}%2Faccept"
    action = form_action(client.get(link).get_data(as_text=True), "data-cities-url")
    response = client.post(action, data=VALID)
    assert response.status_code == 302
    assert response.headers["Location"] == accept
    assert "王小明" in client.get(accept).get_data(as_text=True)


def test_an_old_address_without_district_is_asked_for_it_before_the_order(client, db, customer):
    from test_account_addresses import VALID

    quote = upload(client, db, [("cube.stl", cube_stl())])
    address, invoice = add_order_details(db, customer)
    address.district = None  # saved before districts were asked
    db.session.commit()
    accept = f"/quotes/{quote.ref}/accept"
    html = client.get(accept).get_data(as_text=True)
    assert "王工" in html  # still offered
    assert "此地址尚未填写区县" in html
    edit = f"/account/addresses/{address.id}/edit?next=/quotes/{quote.ref}/accept"
    assert f'href="{edit}"' in html
    choice = {"shipping_address_id": address.id, "invoice_profile_id": invoice.id}
    response = client.post(accept, data={**choice, "lead_choice": "standard"})
    assert response.status_code == 400
    assert "此收货地址尚未填写区县" in response.get_data(as_text=True)
    db.session.expire_all()
    assert quote.status == "quoted"  # no order without the district
    # the link's form asks for it, saves it, and comes back to the accept page
    form = client.get(edit).get_data(as_text=True)
    assert '<option value="310115">浦东新区</option>' in form
    data = {**VALID, "district": "310115"}
    response = client.post(form_action(form, "data-cities-url"), data=data)
    assert response.status_code == 302 and response.headers["Location"] == accept
    html = client.get(f"{accept}?lang=en").get_data(as_text=True)
    assert "Pudong New Area" in html and "no district" not in html
    response = client.post(accept, data={**choice, "lead_choice": "standard"})
    assert response.status_code == 302
    db.session.expire_all()
    assert quote.status == "ordered"


def test_a_city_without_districts_orders_without_one(client, db, customer):
    quote = upload(client, db, [("cube.stl", cube_stl())])
    address, invoice = add_order_details(db, customer)
    address.province, address.city, address.district = "440000", "441900", None  # 东莞市
    db.session.commit()
    response = client.post(
        f"/quotes/{quote.ref}/accept",
        data={"shipping_address_id": address.id, "invoice_profile_id": invoice.id,
              "lead_choice": "standard"},
    )  # fmt: skip
    assert response.status_code == 302


def test_saving_invoice_details_from_the_accept_page_comes_back_to_it(client, db, customer):
    from test_account_invoice import PERSONAL

    quote = upload(client, db, [("cube.stl", cube_stl())])
    accept = f"/quotes/{quote.ref}/accept"
    link = f"/account/invoice?next=%2Fquotes%2F{quote.ref}%2Faccept"
    action = form_action(client.get(link).get_data(as_text=True), "data-cities-url")
    response = client.post(action, data=PERSONAL)
    assert response.status_code == 302
    assert response.headers["Location"] == accept


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_the_personal_center_never_returns_to_another_site(client, db, customer, target):
    from urllib.parse import quote as urlquote

    from test_account_addresses import VALID

    response = client.post(f"/account/addresses/new?next={urlquote(target)}", data=VALID)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/addresses"
