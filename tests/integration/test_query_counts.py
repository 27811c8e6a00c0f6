"""SQL statements per page: public pages need none, signed-in pages a fixed few, lists no N+1.

Each request starts with a fresh database session (as in production, where every request has its
own app context), and every statement sent to the database is counted by an engine listener.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from conftest import sign_in
from sqlalchemy import event

# The base layout of a signed-in page loads the user, and with it (one statement) the policy
# edition they accepted, how many notices they have not dismissed and how many messages they have
# not read: the banner and the header need no more.
SIGNED_IN_LAYOUT = 1


@contextmanager
def counted(db):
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split())[:160])

    db.session.remove()  # what the previous request loaded is not in this one's identity map
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def statements_for(db, client, path: str) -> list[str]:
    with counted(db) as statements:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        response.close()
    return statements


@pytest.mark.parametrize("path", ["/", "/policy", "/policy?lang=en", "/cookies"])
def test_public_pages_need_no_query_for_a_visitor(db, client, path):
    assert statements_for(db, client, path) == []


@pytest.mark.parametrize("path", ["/", "/policy"])
def test_public_pages_for_a_signed_in_user_cost_only_the_layout(db, client, user, path):
    sign_in(client, user)
    assert len(statements_for(db, client, path)) == SIGNED_IN_LAYOUT


def _quotes(db, user, count: int, drawings_each: int) -> None:
    from xometry_site.models import Drawing, Quote

    for n in range(count):
        quote = Quote(user_id=user.id, process="cnc_machining", material="al6061", quantity=n + 1)
        db.session.add(quote)
        db.session.flush()
        for d in range(drawings_each):
            db.session.add(
                Drawing(
                    quote_id=quote.id,
                    user_id=user.id,
                    filename=f"part{d}.stl",
                    extension="stl",
                    size=100,
                    sha256="0" * 64,
                )
            )
    db.session.commit()


def test_quote_list_costs_the_same_for_one_quote_and_for_ten(app, db, make_user):
    few, many = make_user(), make_user()
    _quotes(db, few, 1, 1)
    _quotes(db, many, 10, 3)
    few_client, many_client = app.test_client(), app.test_client()
    sign_in(few_client, few)
    sign_in(many_client, many)
    one = statements_for(db, few_client, "/quotes/")
    ten = statements_for(db, many_client, "/quotes/")
    assert len(ten) == len(one), "\n".join(ten)
    assert len(one) == SIGNED_IN_LAYOUT + 1  # the quotes, each with its part count
    assert "3 parts" in many_client.get("/quotes/?lang=en").get_data(as_text=True)


def test_the_api_quote_list_is_the_sign_in_and_the_quotes(app, db, client, make_user):
    """The bearer token's sign-in with its account in one statement, then the quotes."""
    from xometry_site.services.accounts import api_tokens

    user = make_user()
    _quotes(db, user, 10, 2)
    bearer = {"Authorization": f"Bearer {api_tokens.issue(user).access_token}"}
    with counted(db) as statements:
        answer = client.get("/api/mp/v1/quotes", headers=bearer)
        assert answer.status_code == 200 and len(answer.get_json()["quotes"]) == 10
    assert len(statements) == 2, "\n".join(statements)


def test_staff_quote_queue_costs_the_same_for_one_quote_and_for_ten(app, db, make_user):
    from xometry_site.models import Quote

    staff, few, many = make_user(is_staff=True), make_user(), make_user()
    few_id, many_id = few.id, many.id
    client = app.test_client()
    sign_in(client, staff)
    _quotes(db, few, 1, 2)
    _quotes(db, many, 9, 3)

    def queue(*user_ids: int) -> list[str]:
        db.session.execute(
            db.update(Quote).where(Quote.user_id.in_(user_ids)).values(status="in_review")
        )
        db.session.commit()
        return statements_for(db, client, "/admin/quotes?status=in_review")

    one, ten = queue(few_id), queue(few_id, many_id)
    assert len(ten) == len(one), "\n".join(ten)
    assert client.get("/admin/quotes?status=in_review&lang=en").get_data(True).count("3 parts") == 9


def test_banner_counts_loaded_with_the_user_follow_a_new_notice(app, db, client, make_user):
    from xometry_site.services.privacy import notices

    staff, user = make_user(is_staff=True), make_user()
    sign_in(client, user)
    assert 'class="banner privacy-banner notice-banner"' not in client.get("/").get_data(True)
    text = notices.NoticeText("事件", "Incident", "正文", "Body")
    notices.publish(staff, text, "all")
    page = client.get("/?lang=en").get_data(as_text=True)
    assert 'class="banner privacy-banner notice-banner"' in page and "Incident" in page


def _addresses(db, user, count: int) -> None:
    from xometry_site.models import ShippingAddress

    for n in range(count):
        db.session.add(
            ShippingAddress(
                user_id=user.id,
                recipient=f"收件人{n}",
                address=f"世纪大道 {n} 号",
                phone="+8613800000001",
                province="310000",
                city="310100",
                postal_code="200120",
                is_default=n == 0,
            )
        )
    db.session.commit()


def test_account_overview_costs_a_fixed_number_of_statements(app, db, make_user):
    few, many = make_user(), make_user()
    _addresses(db, few, 1)
    _addresses(db, many, 6)
    _quotes(db, many, 5, 1)
    few_client, many_client = app.test_client(), app.test_client()
    sign_in(few_client, few)
    sign_in(many_client, many)
    one = statements_for(db, few_client, "/account")
    six = statements_for(db, many_client, "/account")
    assert len(six) == len(one), "\n".join(six)
    assert len(one) <= 12, "\n".join(one)


def test_the_headers_unread_message_count_is_loaded_with_the_user(app, db, client, make_user):
    from xometry_site.services.notifications import notify

    user = make_user()
    for number in ("XA-2026-000001", "XA-2026-000002"):
        notify(user, "fapiao_issued", f"/orders/{number}", number=number)
    db.session.commit()
    sign_in(client, user)
    assert len(statements_for(db, client, "/quotes/")) == SIGNED_IN_LAYOUT + 1
    assert '<span class="nav-count" aria-hidden="true">2</span>' in client.get("/").get_data(True)
