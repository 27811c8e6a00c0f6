"""Sharing a quote with a colleague: a read-only link, valid 14 days, revocable; the visitor sees
prices and never a drawing; each opening is recorded and shown to the owner; the link's secret is
stored only as a hash; the links go with the quote and with the account."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from conftest import sign_in
from test_quotes_support import cube_stl, post_quote

from xometry_site.models import Quote, QuoteShare, QuoteShareView
from xometry_site.models.base import utcnow

NO_OPTIONS = {"process": None, "material": None, "quantity": None}
LINK = re.compile(r"https?://[^\s\"<]+/shared/quotes/([A-Za-z0-9_\-]+)")


def upload(client, db) -> Quote:
    files = [("bracket.stl", cube_stl(20)), ("housing.stl", cube_stl(35))]
    assert post_quote(client, files, **NO_OPTIONS).status_code == 303
    db.session.expire_all()
    return db.session.scalar(db.select(Quote).order_by(Quote.id.desc()))


def make_link(client, quote) -> str:
    """POST the share form; the page shows the link once: its secret."""
    response = client.post(f"/quotes/{quote.ref}/share?lang=en")
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    html = response.get_data(as_text=True)
    assert "cannot be shown again" in html
    return LINK.search(html).group(1)


def shares(db) -> list[QuoteShare]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(QuoteShare).order_by(QuoteShare.id)))


def page_amount(html: str, element_id: str) -> str:
    return re.search(rf'id="{element_id}">([^<]+)<', html).group(1).strip()


def test_a_visitor_with_the_link_sees_the_prices_and_never_a_drawing(app, client, db, customer):
    quote = upload(client, db)
    owner_page = client.get(f"/quotes/{quote.ref}?lang=en").get_data(as_text=True)
    token = make_link(client, quote)
    visitor = app.test_client()
    response = visitor.get(f"/shared/quotes/{token}?lang=en")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert quote.ref in html and "bracket.stl" in html and "housing.stl" in html
    for owner_cell, shared_cell in (
        ("quote-subtotal", "doc-subtotal"),
        ("quote-vat", "doc-vat"),
        ("quote-total", "doc-total"),
    ):
        assert page_amount(html, shared_cell) == page_amount(owner_page, owner_cell)
    assert "Aluminium 6061-T6" in html and "Unit price by quantity" in html
    assert "working days (ships by" in html
    for absent in ("/files/", "preview.png", "mesh", "<img", "download", "quote.pdf"):
        assert absent not in html, absent
    for personal in (customer.email, customer.phone, customer.name):
        assert personal not in html
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Robots-Tag"].startswith("noindex")
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_each_opening_is_recorded_and_shown_to_the_owner(app, client, db, customer):
    quote = upload(client, db)
    token = make_link(client, quote)
    visitor = app.test_client()
    for _ in range(2):
        assert visitor.get(f"/shared/quotes/{token}").status_code == 200
    [share] = shares(db)
    views = list(db.session.scalars(sa.select(QuoteShareView)))
    assert [v.share_id for v in views] == [share.id, share.id]
    assert {c.name for c in QuoteShareView.__table__.columns} == {"id", "share_id", "viewed_at"}
    page = client.get(f"/quotes/{quote.ref}?lang=en").get_data(as_text=True)
    row = page[page.index(f'id="share-{share.id}"') :]
    assert "2 times" in row[: row.index("</tr>")]
    assert row.count('<time datetime="') >= 2
    assert "Revoke" in row[: row.index("</tr>")]
    my_data = client.get("/privacy?lang=en").get_data(as_text=True)
    assert "Link to a quote you shared" in my_data


def test_the_secret_is_stored_only_as_its_hash(app, client, db, customer):
    quote = upload(client, db)
    token = make_link(client, quote)
    [share] = shares(db)
    assert share.token_hash == hashlib.sha256(token.encode()).hexdigest()
    with db.engine.connect() as connection:
        for table in ("quote_shares", "quote_share_views"):
            for row in connection.execute(sa.text(f"SELECT * FROM {table}")):  # noqa: S608
                assert all(token not in str(value) for value in row)
    assert share.expires_at - share.created_at == timedelta(days=14)


def test_a_revoked_link_is_404_with_a_clear_page(app, client, db, customer):
    quote = upload(client, db)
    token = make_link(client, quote)
    [share] = shares(db)
    revoked = client.post(f"/quotes/{quote.ref}/share/{share.id}/revoke?lang=en")
    assert revoked.status_code == 302
    page = client.get(f"/quotes/{quote.ref}?lang=en").get_data(as_text=True)
    assert "The link no longer opens this quote." in page and "Revoked on" in page
    response = app.test_client().get(f"/shared/quotes/{token}?lang=en")
    assert response.status_code == 404
    assert "This link does not open a quote" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert db.session.scalar(sa.select(sa.func.count(QuoteShareView.id))) == 0


def test_an_expired_or_unknown_link_is_404(app, client, db, customer):
    from xometry_site.services.quotes import sharing

    quote = upload(client, db)
    token = make_link(client, quote)
    visitor = app.test_client()
    assert visitor.get(f"/shared/quotes/{token}").status_code == 200
    [share] = shares(db)
    assert sharing.shared_quote(token, now=share.expires_at + timedelta(seconds=1)) is None
    share.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert visitor.get(f"/shared/quotes/{token}").status_code == 404
    page = client.get(f"/quotes/{quote.ref}?lang=en").get_data(as_text=True)
    row = page[page.index(f'id="share-{share.id}"') :]
    assert "Expired" in row[: row.index("</tr>")]
    unknown = visitor.get("/shared/quotes/" + "x" * 43 + "?lang=en")
    assert unknown.status_code == 404
    assert "This link does not open a quote" in unknown.get_data(as_text=True)
    assert visitor.get("/shared/quotes/" + "x" * 5000).status_code == 404


def test_only_the_owner_makes_or_revokes_links(app, client, db, customer, make_user):
    quote = upload(client, db)
    token = make_link(client, quote)
    [share] = shares(db)
    for intruder in (make_user(), make_user(is_staff=True)):
        other = app.test_client()
        sign_in(other, intruder)
        assert other.post(f"/quotes/{quote.ref}/share").status_code == 404
        assert other.post(f"/quotes/{quote.ref}/share/{share.id}/revoke").status_code == 404
    assert len(shares(db)) == 1 and shares(db)[0].revoked_at is None
    assert app.test_client().get(f"/shared/quotes/{token}").status_code == 200
    # another quote's link cannot be revoked through this one
    second = upload(client, db)
    assert client.post(f"/quotes/{second.ref}/share/{share.id}/revoke").status_code == 404


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_making_a_link_needs_the_forms_csrf_token(client, db, customer):
    from test_quotes_support import csrf_token_from_page

    quote = upload_with_csrf(client, db)
    assert client.post(f"/quotes/{quote.ref}/share").status_code == 400
    assert shares(db) == []
    token = csrf_token_from_page(client, f"/quotes/{quote.ref}")
    response = client.post(f"/quotes/{quote.ref}/share", data={"csrf_token": token})
    assert response.status_code == 200 and len(shares(db)) == 1


def upload_with_csrf(client, db) -> Quote:
    from test_quotes_support import csrf_token_from_page

    csrf = csrf_token_from_page(client)
    response = post_quote(client, [("bracket.stl", cube_stl(20))], csrf=csrf, **NO_OPTIONS)
    assert response.status_code == 303
    db.session.expire_all()
    return db.session.scalar(db.select(Quote).order_by(Quote.id.desc()))


def test_deleting_the_quote_removes_its_links(app, client, db, customer):
    quote = upload(client, db)
    token = make_link(client, quote)
    app.test_client().get(f"/shared/quotes/{token}")
    assert client.post(f"/privacy/quotes/{quote.ref}/delete").status_code in (302, 303)
    assert shares(db) == []
    assert db.session.scalar(sa.select(sa.func.count(QuoteShareView.id))) == 0
    assert app.test_client().get(f"/shared/quotes/{token}").status_code == 404


def test_erasing_the_account_removes_its_links(app, client, db, customer):
    from xometry_site.services.privacy import erasure

    quote = upload(client, db)
    token = make_link(client, quote)
    app.test_client().get(f"/shared/quotes/{token}")
    quote.status = "ordered"  # kept by law after the erasure: its links are not
    customer.deregistered_at = utcnow() - timedelta(days=30)
    customer.erase_after = utcnow() - timedelta(days=1)
    db.session.commit()
    assert erasure.erase_account(customer.id, notify=False) is not None
    assert shares(db) == []
    assert db.session.scalar(sa.select(sa.func.count(QuoteShareView.id))) == 0
    assert db.session.get(Quote, quote.id) is not None


def test_a_quote_still_analysing_cannot_be_shared_yet(app, client, db, customer):
    from test_quotes_support import waiting_quote

    ref = db.session.get(Quote, waiting_quote(app, db, customer)).ref
    response = client.post(f"/quotes/{ref}/share?lang=en")
    assert response.status_code == 302
    page = client.get(f"/quotes/{ref}?lang=en").get_data(as_text=True)
    assert "A link can be made once the quote has a price" in page
    assert shares(db) == []


@pytest.mark.parametrize(
    "app_config", [{"RATELIMIT_ENABLED": True, "SHARED_QUOTE_LIMIT": "2 per minute"}]
)
def test_opening_shared_quotes_is_rate_limited_per_address(app, client, db, customer):
    quote = upload(client, db)
    token = make_link(client, quote)
    visitor = app.test_client()
    codes = [visitor.get(f"/shared/quotes/{token}").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    guessing = [visitor.get(f"/shared/quotes/{'y' * 43}").status_code for _ in range(2)]
    assert guessing == [429, 429]


@pytest.mark.parametrize(
    "app_config", [{"RATELIMIT_ENABLED": True, "QUOTE_SHARE_LIMIT": "1 per hour"}]
)
def test_making_links_is_rate_limited_per_account(client, db, customer):
    quote = upload(client, db)
    make_link(client, quote)
    assert client.post(f"/quotes/{quote.ref}/share").status_code == 429
    assert len(shares(db)) == 1
