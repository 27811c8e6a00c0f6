"""The quote PDF: read back as text, its totals are the page's; both languages, each part with its
thumbnail, options, DFM notes and price breaks; owner and staff only; parts in review labelled."""

from __future__ import annotations

import io
import re
import time

import pytest
from pypdf import PdfReader
from test_quotes_support import (
    cube_stl,
    files_containing,
    plaintext_roots,
    post_quote,
    waiting_quote,
)

from xometry_site.models import Quote
from xometry_site.services.quotes import drawing_files
from xometry_site.services.quotes.catalogue import catalogue_name, option_name

NO_OPTIONS = {"process": None, "material": None, "quantity": None}


@pytest.fixture
def staff(make_user):
    return make_user(is_staff=True)


def upload(client, db, files) -> Quote:
    response = post_quote(client, files, **NO_OPTIONS)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    db.session.expire_all()
    return db.session.scalar(db.select(Quote).order_by(Quote.id.desc()))


def pdf_text(response) -> str:
    reader = PdfReader(io.BytesIO(response.data))
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    """The text with every run of white space as one space (lines and cells run together)."""
    return " ".join(text.split())


def pdf_images(response) -> int:
    reader = PdfReader(io.BytesIO(response.data))
    return sum(len(page.images) for page in reader.pages)


def page_amount(html: str, element_id: str) -> str:
    """The text of the page's cell with this id (e.g. ¥1,234.50)."""
    return re.search(rf'id="{element_id}">([^<]+)<', html).group(1).strip()


def names_in(app, lang: str, part, quote) -> list[str]:
    """The names a reader of `lang` sees for the part's options."""
    from flask_babel import force_locale

    from xometry_site.services.quotes.part_quote import options_of

    options = options_of(part, quote)
    with app.test_request_context(), force_locale(lang):
        return [
            catalogue_name("process", options.process),
            catalogue_name("material", options.material, options.process),
            catalogue_name("finish", options.finish, options.process),
            option_name("inspection", options.inspection),
        ]


@pytest.mark.parametrize(
    ("lang", "word"), [("en", "Quotation"), ("zh_CN", "报价单")], ids=["en", "zh_CN"]
)
def test_the_pdf_totals_are_the_pages_in_either_language(app, client, db, customer, lang, word):
    quote = upload(client, db, [("bracket.stl", cube_stl(20)), ("housing.stl", cube_stl(35))])
    assert quote.status == "quoted"
    html = client.get(f"/quotes/{quote.ref}?lang={lang}").get_data(as_text=True)
    response = client.get(f"/quotes/{quote.ref}/quote.pdf?lang={lang}")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{quote.ref}.pdf"'
    assert "no-store" in response.headers["Cache-Control"]
    text = pdf_text(response)
    for cell in ("quote-subtotal", "quote-vat", "quote-total"):
        amount = page_amount(html, cell)
        assert re.fullmatch(r"¥[\d,]+\.\d\d", amount)
        assert amount in text, (cell, amount)
    # pypdf may split a run of Latin glyphs between CJK text by a space ("Q-F J4TCH7BU2")
    assert word in text and quote.ref in "".join(text.split())
    assert ("增值税" if lang == "zh_CN" else "VAT 13%") in text
    for part in quote.parts:
        assert part.filename in text
        for name in names_in(app, lang, part, quote):
            assert name in text, name
    assert f"¥{quote.expedite_total:,.2f}" in text  # the expedited lead time's total
    assert pdf_images(response) == len(quote.parts)  # each part's thumbnail


def test_the_pdf_shows_price_breaks_and_manufacturability_notes(client, db, customer):
    from test_quote_parts import plate_stl

    quote = upload(client, db, [("bracket.stl", plate_stl(60, 40, 0.6))])  # CNC wants 0.8 mm
    text = pdf_text(client.get(f"/quotes/{quote.ref}/quote.pdf?lang=en"))
    assert re.search(
        r"Check Walls as thin as 0\.6\d* mm; CNC machining needs at least 0\.8", flat(text)
    )
    assert "Unit price by quantity" in text
    for quantity in ("10", "50", "100"):
        assert re.search(rf"^{quantity} ¥[\d,]+\.\d\d$", text, re.MULTILINE), quantity
    assert "ships by" in text  # lead times with their ship-by dates


def test_parts_in_review_are_marked_and_the_total_covers_the_priced_parts(client, db, customer):
    quote = upload(client, db, [("bracket.stl", cube_stl(20)), ("lonely.dxf", b"0\nSECTION\n")])
    assert quote.status == "in_review" and quote.subtotal is not None
    html = client.get(f"/quotes/{quote.ref}?lang=en").get_data(as_text=True)
    text = flat(pdf_text(client.get(f"/quotes/{quote.ref}/quote.pdf?lang=en")))
    assert "1 part is in review" in text
    assert "Total of the priced parts " + page_amount(html, "quote-total") in text
    assert (
        "Subtotal of the priced parts (before VAT) " + page_amount(html, "quote-subtotal") in text
    )
    assert "In review An engineer reads this file format and quotes it." in text
    assert "lonely.dxf" in text


def test_a_quote_still_analysing_gets_a_message_not_a_pdf(app, client, db, customer):
    ref = db.session.get(Quote, waiting_quote(app, db, customer)).ref
    response = client.get(f"/quotes/{ref}/quote.pdf?lang=en")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/quotes/{ref}")
    page = client.get(f"/quotes/{ref}?lang=en").get_data(as_text=True)
    assert "The PDF can be made once your drawings are analysed" in page
    assert 'id="quote-pdf-link"' not in page


def test_another_customer_gets_404_staff_get_the_pdf(app, client, db, customer, make_user, staff):
    from conftest import sign_in

    quote = upload(client, db, [("bracket.stl", cube_stl(20))])
    path = f"/quotes/{quote.ref}/quote.pdf"
    page = client.get(f"/quotes/{quote.ref}?lang=en").get_data(as_text=True)
    assert f'href="{path}"' in page  # the download link on the quote page
    other = app.test_client()
    sign_in(other, make_user())
    assert other.get(path).status_code == 404
    assert app.test_client().get(path).status_code == 302  # signed out: to the sign-in page
    office = app.test_client()
    sign_in(office, staff)
    response = office.get(path)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "no-store" in response.headers["Cache-Control"]


def test_the_thumbnail_is_decrypted_in_memory_only(app, client, db, customer):
    quote = upload(client, db, [("bracket.stl", cube_stl(20))])
    png = drawing_files.preview_bytes(quote.parts[0])
    marker = png[len(png) // 2 : len(png) // 2 + 48]
    started = time.time()
    assert client.get(f"/quotes/{quote.ref}/quote.pdf").status_code == 200
    assert files_containing(marker, plaintext_roots(app), started) == []


@pytest.mark.parametrize(
    "app_config", [{"RATELIMIT_ENABLED": True, "QUOTE_PDF_LIMIT": "2 per minute"}]
)
def test_the_pdf_is_rate_limited(client, db, customer):
    quote = upload(client, db, [("bracket.stl", cube_stl(20))])
    path = f"/quotes/{quote.ref}/quote.pdf"
    assert [client.get(path).status_code for _ in range(3)] == [200, 200, 429]


def test_the_pdf_embeds_data_and_fetches_nothing(app):
    from weasyprint.urls import URLFetchingError

    from xometry_site.services.quotes.quote_pdf import data_only

    for url in ("http://127.0.0.1:9/part.png", "file:///etc/passwd", "/static/css/site.css"):
        with pytest.raises(URLFetchingError):
            data_only(url)
    assert data_only("data:image/png;base64,iVBORw0KGgo=")["mime_type"] == "image/png"


def test_a_quote_with_no_priced_part_says_so_instead_of_totals(client, db, customer):
    quote = upload(client, db, [("plate.dxf", b"0\nSECTION\n")])
    assert quote.status == "in_review" and quote.subtotal is None
    text = flat(pdf_text(client.get(f"/quotes/{quote.ref}/quote.pdf?lang=en")))
    assert "No part has a price yet: an engineer is pricing them." in text
    assert "Total" not in text and "totals below" not in text and "plate.dxf" in text
