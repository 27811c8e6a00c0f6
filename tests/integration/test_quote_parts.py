"""Upload first, then configure each part: defaults from the rules, 2D drawings attached to their
part, options saved by a plain form, the live price endpoint, review reasons before saving, and
the ordered lead time's total everywhere."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from test_query_counts import counted
from test_quotes_support import cube_stl, pdf_bytes, post_quote

from xometry_site.models import Drawing, Quote
from xometry_site.services.quotes import pricing

NO_OPTIONS = {"process": None, "material": None, "quantity": None}
OPTIONS = {
    "process": "cnc_machining",
    "material": "al6061",
    "finish": "as_machined",
    "quantity": "1",
    "tolerance": "iso2768m",
    "threads": "0",
    "inspection": "standard",
}


def upload(client, db, files, **fields) -> Quote:
    response = post_quote(client, files, **{**NO_OPTIONS, **fields})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    db.session.expire_all()
    return db.session.scalar(db.select(Quote).order_by(Quote.id.desc()))


def part_named(quote: Quote, name: str) -> Drawing:
    return next(d for d in quote.live_drawings if d.filename == name)


def price(client, quote: Quote, part: Drawing, **changes):
    query = {**OPTIONS, **changes}
    return client.get(f"/quotes/{quote.ref}/parts/{part.id}/price", query_string=query)


def save(client, quote: Quote, part: Drawing, **changes):
    from test_quotes_support import csrf_token_from_page

    token = csrf_token_from_page(client, f"/quotes/{quote.ref}")
    return client.post(
        f"/quotes/{quote.ref}/parts/{part.id}", data={**OPTIONS, **changes, "csrf_token": token}
    )


def test_files_alone_are_enough_the_rules_give_the_options(client, db, customer):
    quote = upload(client, db, [("cube.stl", cube_stl())])
    defaults = pricing.load_rules()["defaults"]
    part = part_named(quote, "cube.stl")
    assert (part.process, part.material, part.quantity) == (
        defaults["process"],
        defaults["material"],
        defaults["quantity"],
    )
    assert (part.tolerance, part.threads, part.inspection) == ("iso2768m", 0, "standard")
    assert quote.status == "quoted" and part.unit_price > 0


def test_a_drawing_named_like_a_part_is_attached_to_it_not_priced(client, db, customer):
    quote = upload(
        client,
        db,
        [
            ("Bracket.STL", cube_stl()),
            ("bracket.pdf", pdf_bytes()),
            ("lonely.dxf", b"0\nSECTION\n"),
        ],
    )
    solid, drawing = part_named(quote, "Bracket.STL"), part_named(quote, "bracket.pdf")
    lone = part_named(quote, "lonely.dxf")
    assert drawing.part_of_id == solid.id and drawing.unit_price is None
    assert lone.part_of_id is None and lone.review_reason == "format_needs_review"
    assert [p.filename for p in quote.parts] == ["Bracket.STL", "lonely.dxf"]
    assert quote.status == "in_review" and quote.review_reason == "format_needs_review"
    assert solid.unit_price is not None  # the instant part keeps its price beside the review
    html = client.get(f"/quotes/{quote.ref}?lang=en").get_data(as_text=True)
    assert "Drawing:" in html and "bracket.pdf" in html
    assert html.count('class="card part"') == 2


def test_a_drawing_can_be_moved_to_another_part_or_stand_alone(client, db, customer):
    from test_quotes_support import csrf_token_from_page

    quote = upload(
        client, db, [("a.stl", cube_stl()), ("b.stl", cube_stl(30)), ("a.pdf", pdf_bytes())]
    )
    drawing = part_named(quote, "a.pdf")
    b = part_named(quote, "b.stl")
    token = csrf_token_from_page(client, f"/quotes/{quote.ref}")
    url = f"/quotes/{quote.ref}/files/{drawing.id}/attach"
    assert client.post(url, data={"csrf_token": token, "part_id": str(b.id)}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Drawing, drawing.id).part_of_id == b.id
    assert db.session.get(Quote, quote.id).status == "quoted"
    client.post(url, data={"csrf_token": token, "part_id": ""})
    db.session.expire_all()
    quote = db.session.get(Quote, quote.id)
    assert part_named(quote, "a.pdf").part_of_id is None and quote.status == "in_review"
    # a 3D part is never attached to another
    solid = part_named(quote, "a.stl")
    moved = client.post(
        f"/quotes/{quote.ref}/files/{solid.id}/attach",
        data={"csrf_token": token, "part_id": str(b.id)},
    )
    assert moved.status_code == 302
    db.session.expire_all()
    assert db.session.get(Drawing, solid.id).part_of_id is None


def test_the_price_endpoint_follows_each_option_without_saving(client, db, customer):
    quote = upload(client, db, [("cube.stl", cube_stl())])
    part = part_named(quote, "cube.stl")
    base = price(client, quote, part).get_json()
    assert base["instant"] is True and base["currency"] == "CNY"
    assert re.fullmatch(r"\d+\.\d\d", base["unit_price"]) and re.fullmatch(
        r"\d+\.\d\d", base["total"]
    )
    assert [b["quantity"] for b in base["breaks"]] == [1, 10, 50, 100]
    assert Decimal(base["breaks"][-1]["unit_price"]) < Decimal(base["breaks"][0]["unit_price"])
    assert base["lead_days"]["expedited"] < base["lead_days"]["standard"]
    assert isinstance(base["dfm"], list)

    def unit(**changes) -> Decimal:
        return Decimal(price(client, quote, part, **changes).get_json()["unit_price"])

    assert unit(material="ti_tc4") > unit()
    assert unit(tolerance="iso2768f") > unit()
    assert unit(threads="4") == unit() + 4 * Decimal("4.00")
    assert unit(inspection="cmm") > unit(inspection="coc") > unit()
    seven = price(client, quote, part, quantity="7").get_json()
    assert [b["quantity"] for b in seven["breaks"]] == [1, 7, 10, 50, 100]
    assert Decimal(seven["total"]) == Decimal(seven["unit_price"]) * 7
    fine = price(client, quote, part, tolerance="iso2768f").get_json()
    assert fine["lead_days"]["standard"] == base["lead_days"]["standard"] + 1
    db.session.expire_all()
    assert db.session.get(Drawing, part.id).material == "al6061"  # nothing was saved


def test_what_sends_a_part_to_review_is_named_with_its_control_before_saving(client, db, customer):
    quote = upload(client, db, [("cube.stl", cube_stl())])
    part = part_named(quote, "cube.stl")
    custom = price(client, quote, part, tolerance="custom").get_json()
    assert custom["instant"] is False and custom["unit_price"] is None
    assert custom["review"]["field"] == "tolerance"
    assert custom["review"]["code"] == "custom_tolerance"
    assert "工程师" in custom["review"]["message"]
    many = price(client, quote, part, threads="500").get_json()
    assert many["review"]["field"] == "threads"
    # the page names the cause next to the control once it is saved
    assert save(client, quote, part, tolerance="custom").status_code == 302
    html = client.get(f"/quotes/{quote.ref}?lang=en").get_data(as_text=True)
    hint = re.search(r'data-hint-for="tolerance"[^>]*>([^<]+)<', html)
    assert hint and "engineer" in hint.group(1)
    # and without JavaScript the help under the form says it before anything is saved
    assert "A custom tolerance is read from your drawing by an engineer" in html


def test_bad_options_are_answered_400_with_a_message(client, db, customer):
    quote = upload(client, db, [("cube.stl", cube_stl())])
    part = part_named(quote, "cube.stl")
    for changes in (
        {"quantity": "0"},
        {"quantity": "x"},
        {"threads": "-1"},
        {"process": "nope"},
        {"tolerance": "tight"},
        {"material": "no-such-material"},  # a code no process offers is bad input, not a review
        {"finish": "gold-leaf"},
    ):
        response = price(client, quote, part, **changes)
        assert response.status_code == 400, changes
        assert response.get_json()["error"]["message"]
    wrong_material = price(client, quote, part, material="pla").get_json()
    assert wrong_material["instant"] is False  # PLA is not machined: an engineer, not a crash
    refused = save(client, quote, part, quantity="0")
    assert refused.status_code == 400
    assert 'aria-invalid="true"' in refused.get_data(as_text=True)
    refused = save(client, quote, part, material="pla")
    assert refused.status_code == 400
    db.session.expire_all()
    assert db.session.get(Drawing, part.id).material == "al6061"


def test_saving_a_part_reprices_it_and_keeps_the_others(client, db, customer):
    quote = upload(client, db, [("a.stl", cube_stl()), ("b.stl", cube_stl(30))])
    a, b = part_named(quote, "a.stl"), part_named(quote, "b.stl")
    b_price = b.line_total
    expected = price(client, quote, a, material="ss304", quantity="5").get_json()
    response = save(client, quote, a, material="ss304", quantity="5")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#part-{a.id}")
    db.session.expire_all()
    quote = db.session.get(Quote, quote.id)
    a, b = part_named(quote, "a.stl"), part_named(quote, "b.stl")
    assert (a.material, a.quantity) == ("ss304", 5)
    assert a.unit_price == Decimal(expected["unit_price"]) and b.line_total == b_price
    assert quote.subtotal == a.line_total + b.line_total
    assert quote.total == Decimal(expected["quote"]["total"])
    # one part in review: the other keeps its instant price, the page shows it
    save(client, quote, b, tolerance="custom")
    db.session.expire_all()
    quote = db.session.get(Quote, quote.id)
    assert quote.status == "in_review"
    assert part_named(quote, "a.stl").unit_price == a.unit_price
    assert part_named(quote, "b.stl").unit_price is None
    html = client.get(f"/quotes/{quote.ref}").get_data(as_text=True)
    assert f"¥{a.line_total:,.2f}" in html


def test_only_the_owner_changes_parts(client, db, customer, make_user, login_as):
    quote = upload(client, db, [("cube.stl", cube_stl())])
    part = part_named(quote, "cube.stl")
    other = make_user()
    login_as(other)
    assert price(client, quote, part).status_code == 404
    assert client.post(f"/quotes/{quote.ref}/parts/{part.id}", data=OPTIONS).status_code in (
        400,
        404,
    )
    staff = make_user(is_staff=True)
    login_as(staff)
    assert price(client, quote, part).status_code == 200  # staff see the price they start from
    html = client.get(f"/quotes/{quote.ref}").get_data(as_text=True)
    assert 'class="part-form"' not in html  # but do not change the customer's choices


def test_a_live_price_costs_no_query_per_price_break(client, db, customer):
    quote = upload(client, db, [("cube.stl", cube_stl())])
    part = part_named(quote, "cube.stl")
    with counted(db) as few:
        assert price(client, quote, part, quantity="1").status_code == 200
    with counted(db) as same:
        assert price(client, quote, part, quantity="77").status_code == 200
    assert len(few) == len(same) <= 4


@pytest.mark.parametrize("lead", ["standard", "expedited"])
def test_the_ordered_lead_time_total_is_shown_everywhere(
    client, db, customer, lead, mailbox, make_user, login_as
):
    from test_quotes_pages import add_order_details

    staff = make_user(is_staff=True)
    quote = upload(client, db, [("cube.stl", cube_stl())])
    address, invoice = add_order_details(db, customer)
    from test_quotes_support import csrf_token_from_page

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
    assert response.status_code == 302
    db.session.expire_all()
    quote = db.session.get(Quote, quote.id)
    expected = quote.expedite_total if lead == "expedited" else quote.total
    assert quote.ordered_total == expected
    shown = f"¥{expected:,.2f}"
    assert shown in client.get(f"/quotes/{quote.ref}").get_data(as_text=True)
    assert shown in client.get("/quotes/").get_data(as_text=True)
    assert str(expected) in client.get("/privacy").get_data(as_text=True).replace(",", "")
    assert any(shown in m.get_body().get_content() for m in mailbox)
    login_as(staff)
    assert shown in client.get(f"/admin/quotes/{quote.ref}").get_data(as_text=True)


def plate_stl(x: float, y: float, z: float) -> bytes:
    """A closed box of x × y × z mm (12 triangles)."""
    import struct

    from test_quotes_support import CUBE_FACES

    v = [(0, 0, 0), (x, 0, 0), (x, y, 0), (0, y, 0), (0, 0, z), (x, 0, z), (x, y, z), (0, y, z)]
    records = bytearray()
    for a, b, c in CUBE_FACES:
        records += struct.pack("<3f", 0, 0, 0)
        for i in (a, b, c):
            records += struct.pack("<3f", *v[i])
        records += b"\0\0"
    return bytes(80) + struct.pack("<I", len(CUBE_FACES)) + bytes(records)


def test_manufacturability_findings_follow_the_process_and_can_send_to_review(client, db, customer):
    quote = upload(client, db, [("plate.stl", plate_stl(60, 40, 0.3))])
    part = part_named(quote, "plate.stl")
    cnc = price(client, quote, part, **{"lang": "en"}).get_json()
    thin = next(f for f in cnc["dfm"] if f["code"] == "thin_walls")
    assert thin["severity"] == "review" and "0.3" in thin["message"]
    assert cnc["instant"] is False and cnc["review"]["field"] == "file"
    assert quote.status == "in_review"  # saved as uploaded: CNC cannot make it
    html = client.get(f"/quotes/{quote.ref}").get_data(as_text=True)
    assert 'data-code="thin_walls"' in html
    # a 900 mm bar is larger than the CNC envelope
    bar = upload(client, db, [("bar.stl", plate_stl(900, 20, 20))])
    body = price(client, bar, part_named(bar, "bar.stl")).get_json()
    assert "too_large_for_process" in [f["code"] for f in body["dfm"]]


def test_the_quote_page_asks_its_status_while_analysing(client, db, customer, make_user, login_as):
    quote = upload(client, db, [("cube.stl", cube_stl())])
    assert client.get(f"/quotes/{quote.ref}/status").get_json() == {
        "status": "quoted",
        "analysing": False,
        "priced": True,
    }
    quote.status = "analysing"
    db.session.commit()
    html = client.get(f"/quotes/{quote.ref}").get_data(as_text=True)
    assert "js/quote_status.js" in html and f"/quotes/{quote.ref}/status" in html
    login_as(make_user())
    assert client.get(f"/quotes/{quote.ref}/status").status_code == 404
