"""The quote list's table is remembered per content and language (quotes/table.py): a customer
who comes back sees it at once, and never a table older than their quotes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from xometry_site.models import Drawing, Quote
from xometry_site.models.base import utcnow
from xometry_site.quotes.table import EXTENSION
from xometry_site.services.quotes import catalogue


@pytest.fixture
def quotes(db, customer) -> list[Quote]:
    """Two priced quotes of two drawings each."""
    made = []
    for n in range(2):
        quote = Quote(
            user_id=customer.id, process="cnc_machining", material="al6061", quantity=n + 1
        )
        quote.status, quote.total = "quoted", Decimal("1200.00") + n
        quote.valid_until = utcnow() + timedelta(days=10)
        db.session.add(quote)
        db.session.flush()
        for d in range(2):
            db.session.add(
                Drawing(quote_id=quote.id, user_id=customer.id, filename=f"p{d}.stl",
                        extension="stl", size=100, sha256="0" * 64)
            )  # fmt: skip
        made.append(quote)
    db.session.commit()
    return made


def page(client, lang: str = "en") -> str:
    response = client.get(f"/quotes/?lang={lang}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_second_visit_takes_the_table_from_the_memo(app, client, quotes):
    memo = app.extensions[EXTENSION]
    first = page(client)
    hits = memo.cache_info().hits
    assert page(client) == first
    assert memo.cache_info().hits == hits + 1
    assert "¥1,201.00" in first and first.count("2 parts") == 2


def test_a_cancelled_quote_shows_as_cancelled_at_once(client, db, quotes):
    assert "Cancelled" not in page(client)
    response = client.post(f"/quotes/{quotes[0].ref}/cancel", follow_redirects=False)
    assert response.status_code == 302
    assert "Cancelled" in page(client)


def test_new_prices_and_removed_drawings_show_at_once(client, db, quotes):
    assert "¥1,200.00" in page(client)
    quotes[0].total = Decimal("990.00")
    quotes[0].drawings[0].deleted_at = utcnow()
    db.session.commit()
    html = page(client)
    assert "¥990.00" in html and "¥1,200.00" not in html
    assert "1 part" in html and html.count("2 parts") == 1


def test_a_price_that_lapses_after_a_visit_shows_as_expired(client, db, quotes):
    assert "Expired" not in page(client)
    quotes[1].valid_until = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert "Expired" in page(client)
    db.session.expire_all()
    assert quotes[1].status == "expired"


def test_each_language_has_its_own_table(client, quotes):
    english, chinese = page(client, "en"), page(client, "zh_CN")
    assert "Quoted" in english and "Quoted" not in chinese
    assert "已报价" in chinese


def test_a_renamed_process_shows_under_its_new_name(client, quotes, monkeypatch):
    before = page(client)
    rules = catalogue._rules()
    renamed = {**rules, "processes": {**rules["processes"]}}
    renamed["processes"]["cnc_machining"] = {
        **rules["processes"]["cnc_machining"],
        "name": {"en": "Five-axis milling", "zh_CN": "五轴铣削"},
    }
    monkeypatch.setattr(catalogue, "_rules", lambda: renamed)
    assert "Five-axis milling" not in before
    assert "Five-axis milling" in page(client)


def test_a_long_list_is_shown_whole_without_filling_the_memo(
    app, client, db, customer, monkeypatch
):
    from xometry_site.quotes import table

    monkeypatch.setattr(table, "MEMO_ROWS", 2)
    for n in range(3):
        db.session.add(
            Quote(user_id=customer.id, process="cnc_machining", material="al6061", quantity=n + 1)
        )
    db.session.commit()
    memo = app.extensions[EXTENSION]
    size = memo.cache_info().currsize
    html = page(client)
    assert html.count('class="quote-ref"') == 3
    assert memo.cache_info().currsize == size
