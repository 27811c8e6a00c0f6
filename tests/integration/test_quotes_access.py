"""A quote and its files are the owner's and staff's only: 404 for anyone else, on every verb."""

from __future__ import annotations

import re

import pytest
from test_quotes_support import cube_stl, post_quote

from xometry_site.models import Quote
from xometry_site.models.quote import new_quote_ref


@pytest.fixture
def owned_quote(client, db, make_user, login_as):
    owner = make_user()
    login_as(owner)
    assert post_quote(client, [("cube.stl", cube_stl())]).status_code == 303
    quote = db.session.scalar(db.select(Quote))
    return owner, quote, quote.drawings[0]


def routes(quote, drawing):
    ref, did = quote.ref, drawing.id
    return [
        ("GET", f"/quotes/{ref}"),
        ("GET", f"/quotes/{ref}/files/{did}"),
        ("GET", f"/quotes/{ref}/files/{did}/preview.png"),
        ("GET", f"/quotes/{ref}/files/{did}/mesh.bin"),
        ("POST", f"/quotes/{ref}/cancel"),
        ("GET", f"/quotes/{ref}/accept"),
        ("POST", f"/quotes/{ref}/accept"),
        ("GET", f"/admin/quotes/{ref}"),
        ("POST", f"/admin/quotes/{ref}"),
        ("GET", f"/admin/quotes/{ref}/files/{did}"),
        ("POST", f"/admin/quotes/{ref}/decline"),
        ("POST", f"/admin/quotes/{ref}/question"),
        ("POST", f"/quotes/{ref}/answer"),
    ]


def test_another_user_gets_404_on_every_route_and_verb(
    client, db, owned_quote, make_user, login_as
):
    _owner, quote, drawing = owned_quote
    login_as(make_user())
    for method, path in routes(quote, drawing):
        response = client.open(path, method=method, data={"lead_choice": "standard"})
        assert response.status_code == 404, (method, path)
    db.session.expire_all()
    assert quote.status == "quoted"
    assert quote.ref not in client.get("/quotes/").get_data(as_text=True)


def test_a_drawing_id_of_another_quote_is_404(client, db, owned_quote, make_user, login_as):
    _owner, _quote, drawing = owned_quote
    other = make_user()
    login_as(other)
    assert post_quote(client, [("mine.stl", cube_stl())]).status_code == 303
    mine = db.session.scalar(db.select(Quote).filter_by(user_id=other.id))
    # my quote's ref with someone else's drawing id
    assert client.get(f"/quotes/{mine.ref}/files/{drawing.id}").status_code == 404
    assert client.get(f"/quotes/{mine.ref}/files/{drawing.id}/preview.png").status_code == 404
    assert client.get(f"/quotes/{mine.ref}/files/{drawing.id}/mesh.bin").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, owned_quote):
    _owner, quote, drawing = owned_quote
    client.post("/logout")
    with client.session_transaction() as session:
        session.clear()
    for method, path in routes(quote, drawing)[:7]:  # the customer's routes
        response = client.open(path, method=method)
        assert response.status_code in (302, 400), (method, path)
        if response.status_code == 302:
            assert "/login" in response.headers["Location"]


def test_staff_see_the_quote_but_cannot_order_it(client, db, owned_quote, make_user, login_as):
    _owner, quote, drawing = owned_quote
    login_as(make_user(is_staff=True))
    assert client.get(f"/quotes/{quote.ref}").status_code == 200
    assert client.get(f"/quotes/{quote.ref}/files/{drawing.id}/preview.png").status_code == 200
    assert client.get(f"/quotes/{quote.ref}/files/{drawing.id}/mesh.bin").status_code == 200
    assert client.get(f"/quotes/{quote.ref}/accept").status_code == 404


def test_non_staff_get_404_on_the_staff_pages(client, owned_quote):
    for path in ("/admin/", "/admin/quotes", "/admin/quotes?status=quoted"):
        assert client.get(path).status_code == 404


def test_quote_refs_are_random_and_unguessable():
    refs = {new_quote_ref() for _ in range(2000)}
    assert len(refs) == 2000
    assert all(re.fullmatch(r"Q-[A-Z2-7]{10}", ref) for ref in refs)
    for position in range(2, 12):  # every character position is spread over the alphabet
        assert len({ref[position] for ref in refs}) >= 28
