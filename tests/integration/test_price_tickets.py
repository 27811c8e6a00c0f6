"""The quote page's price tickets: a part's live price from the rules and the page's signed ticket,
with no SQL, the same answer as the full path, and nothing opened for anyone else."""

from __future__ import annotations

import re

import pytest
from test_query_counts import counted
from test_quote_parts import OPTIONS, part_named, upload
from test_quotes_support import cube_stl

from xometry_site.services.quotes import price_tickets

TICKETS = re.compile(r'data-price-ticket="([^"]+)"\s+data-part="(\d+)"')


def tickets_on_page(client, quote) -> dict[int, str]:
    html = client.get(f"/quotes/{quote.ref}").get_data(as_text=True)
    return {int(part): ticket for ticket, part in TICKETS.findall(html)}


def price(client, quote, part, ticket=None, **changes):
    headers = {"X-Price-Ticket": ticket} if ticket else {}
    query = {**OPTIONS, **changes}
    path = f"/quotes/{quote.ref}/parts/{part.id}/price"
    return client.get(path, query_string=query, headers=headers)


def test_with_the_pages_ticket_a_live_price_needs_no_query_and_answers_the_same(
    client, db, customer
):
    quote = upload(client, db, [("a.stl", cube_stl()), ("b.stl", cube_stl(20))])
    a, b = part_named(quote, "a.stl"), part_named(quote, "b.stl")
    tickets = tickets_on_page(client, quote)
    assert set(tickets) == {a.id, b.id}
    for changes in ({}, {"quantity": "77", "material": "ss304"}, {"tolerance": "custom"}):
        full = price(client, quote, a, **changes)
        with counted(db) as statements:
            quick = price(client, quote, a, tickets[a.id], **changes)
        assert statements == []
        assert quick.status_code == full.status_code == 200
        assert quick.get_json() == full.get_json()
        assert quick.headers["Cache-Control"] == "no-store"
    # the quote's total counts the other part as the page showed it
    body = price(client, quote, a, tickets[a.id]).get_json()
    assert body["quote"]["complete"] is True and body["text"]["quote_total"].startswith("¥")
    bad = price(client, quote, a, tickets[a.id], quantity="0")
    assert bad.status_code == 400 and bad.get_json()["error"]["fields"] == {
        "quantity": bad.get_json()["error"]["fields"]["quantity"]
    }


def test_a_ticket_opens_nothing_for_another_account(client, db, customer, make_user, login_as):
    quote = upload(client, db, [("cube.stl", cube_stl())])
    part = part_named(quote, "cube.stl")
    ticket = tickets_on_page(client, quote)[part.id]
    login_as(make_user())
    assert price(client, quote, part, ticket).status_code == 404
    with client.session_transaction() as session:
        session.clear()
    anonymous = price(client, quote, part, ticket)
    assert anonymous.status_code in (302, 401) and "unit_price" not in anonymous.get_data(True)


def test_signing_out_everywhere_ends_the_pages_tickets(client, db, customer, login_as):
    quote = upload(client, db, [("cube.stl", cube_stl())])
    part = part_named(quote, "cube.stl")
    ticket = tickets_on_page(client, quote)[part.id]
    customer.end_all_sessions()
    db.session.commit()
    login_as(customer)  # signed in again: a new per-user token
    assert quote.ref and part.id  # loaded again before the count below starts a new session
    with counted(db) as statements:
        again = price(client, quote, part, ticket)
    assert again.status_code == 200 and statements  # priced the full way, the user checked


def test_an_altered_or_misplaced_ticket_is_priced_the_full_way(client, db, customer):
    quote = upload(client, db, [("a.stl", cube_stl()), ("b.stl", cube_stl(20))])
    a, b = part_named(quote, "a.stl"), part_named(quote, "b.stl")
    tickets = tickets_on_page(client, quote)
    expected = price(client, quote, b).get_json()
    altered = tickets[b.id][:-3] + ("AAA" if not tickets[b.id].endswith("AAA") else "BBB")
    for ticket in (altered, tickets[a.id], "nonsense"):
        with counted(db) as statements:
            answer = price(client, quote, b, ticket)
        assert answer.status_code == 200 and statements
        assert answer.get_json() == expected


def test_an_expired_ticket_is_refused(app, client, db, customer):
    quote = upload(client, db, [("cube.stl", cube_stl())])
    part = part_named(quote, "cube.stl")
    ticket = tickets_on_page(client, quote)[part.id]
    secret = app.config["SECRET_KEY"]
    assert price_tickets.read(ticket, secret).part.id == part.id
    assert price_tickets.read(ticket, secret, max_age=-1) is None
    assert price_tickets.read(ticket, "another secret") is None


def test_notes_for_an_engineer_give_no_tickets(client, db, customer):
    quote = upload(client, db, [("cube.stl", cube_stl())], notes="Ra 0.8 on the bore, H7 fit")
    assert quote.notes and tickets_on_page(client, quote) == {}


@pytest.mark.parametrize(
    "app_config", [{"RATELIMIT_ENABLED": True, "PART_PRICE_LIMIT": "3 per minute"}]
)
def test_both_ways_count_against_one_allowance(client, db, customer):
    quote = upload(client, db, [("cube.stl", cube_stl())])
    part = part_named(quote, "cube.stl")
    ticket = tickets_on_page(client, quote)[part.id]
    answers = [price(client, quote, part, ticket if n % 2 else None) for n in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 61
