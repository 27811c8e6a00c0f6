"""Views marked `@reads_only` query outside a transaction, refuse writes, and still expire prices.

Each request here starts with a fresh database session, as every request does in production (the
test's own session is shared with the requests it makes while it holds an open transaction, and a
request that finds one open keeps it).
"""

from __future__ import annotations

from datetime import timedelta

import conftest
import pytest
from production_support import fresh_database
from sqlalchemy import event

from xometry_site import create_app
from xometry_site.extensions import db as _db
from xometry_site.models import AuditEvent, Quote, QuoteEvent, User
from xometry_site.models.base import utcnow
from xometry_site.read_only import MARK, reads_only, writable

__all__ = ["fresh_database"]

READ_ONLY_METHODS = {"GET", "HEAD", "OPTIONS"}


@pytest.fixture
def pg_app(tmp_path, fresh_database, smtp_server):
    """The site on PostgreSQL whatever the suite runs on: psycopg is where transactions cost."""
    controller, _handler = smtp_server
    url = "postgresql+psycopg://" + fresh_database.split("://", 1)[1]
    app = create_app(conftest.test_config(tmp_path, url, controller.port))
    conftest.as_in_production(app)
    with app.app_context():
        _db.create_all()
        yield app
        _db.session.remove()
        conftest._truncate()
        _db.engine.dispose()


def _quote(db, user: User, **values) -> Quote:
    quote = Quote(user_id=user.id, process="cnc_machining", material="al6061", quantity=2, **values)
    db.session.add(quote)
    db.session.commit()
    return quote


def transaction_states(db, client, path: str) -> list[str]:
    """psycopg's transaction status after each statement the page sends (IDLE: none open)."""
    states: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        states.append(conn.connection.dbapi_connection.info.transaction_status.name)

    db.session.remove()
    event.listen(db.engine, "after_cursor_execute", record)
    try:
        response = client.get(path)
    finally:
        event.remove(db.engine, "after_cursor_execute", record)
    assert response.status_code == 200, (path, response.status_code)
    return states


def test_quote_list_on_postgresql_opens_no_transaction(pg_app):
    """No BEGIN before the user and the quotes are read, so no ROLLBACK after: two round trips
    fewer. A page that may write (the profile form) still runs in a transaction."""
    user = conftest.UserFactory(pg_app)()
    _quote(_db, user)
    client = pg_app.test_client()
    conftest.sign_in(client, user)
    assert transaction_states(_db, client, "/quotes/") == ["IDLE", "IDLE"]  # user, quotes
    assert "INTRANS" in transaction_states(_db, client, "/account/profile")
    assert user.name in client.get("/account/profile").get_data(as_text=True)


def test_read_only_pages_show_the_same_on_postgresql(pg_app):
    user = conftest.UserFactory(pg_app)()
    ref = _quote(_db, user).ref
    client = pg_app.test_client()
    conftest.sign_in(client, user)
    _db.session.remove()
    assert ref in client.get("/quotes/?lang=en").get_data(as_text=True)
    _db.session.remove()
    assert "Analysing" in client.get(f"/quotes/{ref}?lang=en").get_data(as_text=True)
    _db.session.remove()
    assert "Account" in client.get("/account?lang=en").get_data(as_text=True)


@pytest.mark.parametrize("page", ["list", "detail"])
def test_a_lapsed_price_still_expires_on_a_read_only_page(db, client, customer, page):
    quote = _quote(db, customer, status="quoted", valid_until=utcnow() - timedelta(minutes=1))
    ref, quote_id = quote.ref, quote.id
    db.session.remove()
    path = "/quotes/?lang=en" if page == "list" else f"/quotes/{ref}?lang=en"
    response = client.get(path)
    assert response.status_code == 200
    assert "Expired" in response.get_data(as_text=True)
    db.session.remove()
    assert db.session.get(Quote, quote_id).status == "expired"
    events = db.session.scalars(db.select(QuoteEvent.status).filter_by(quote_id=quote_id))
    assert list(events) == ["expired"]


@pytest.fixture
def writing_views(app):
    """Two views marked @reads_only that write: one without `writable()`, one with it."""

    def rename(user_id: int) -> str:
        _db.session.get(User, user_id).name = "改过的名字"
        _db.session.commit()
        return "renamed"

    @app.get("/_test/write/<int:user_id>")
    @reads_only
    def write_unannounced(user_id: int):
        return rename(user_id)

    @app.get("/_test/write-after-writable/<int:user_id>")
    @reads_only
    def write_announced(user_id: int):
        _db.session.get(User, user_id)  # read first, in autocommit
        writable()
        return rename(user_id)

    @app.get("/_test/insert")
    @reads_only
    def insert_statement():
        _db.session.execute(_db.insert(AuditEvent).values(action="test.written"))
        return "inserted"


def _name(db, user_id: int) -> str:
    db.session.remove()
    return db.session.get(User, user_id).name


def test_a_read_only_view_that_writes_fails_and_writes_nothing(db, client, user, writing_views):
    user_id, name = user.id, user.name
    db.session.remove()
    assert client.get(f"/_test/write/{user_id}").status_code == 500
    assert _name(db, user_id) == name
    db.session.remove()
    assert client.get("/_test/insert").status_code == 500
    db.session.remove()
    assert db.session.scalars(db.select(AuditEvent).filter_by(action="test.written")).all() == []


def test_a_read_only_view_may_write_after_writable(db, client, user, writing_views):
    user_id = user.id
    db.session.remove()
    response = client.get(f"/_test/write-after-writable/{user_id}")
    assert response.status_code == 200 and response.get_data(as_text=True) == "renamed"
    assert _name(db, user_id) == "改过的名字"


def test_only_get_views_are_marked_read_only(app):
    marked = [
        rule
        for rule in app.url_map.iter_rules()
        if getattr(app.view_functions[rule.endpoint], MARK, False)
    ]
    assert {rule.endpoint for rule in marked} >= {"quotes.index", "quotes.detail", "account.index"}
    for rule in marked:
        assert rule.methods <= READ_ONLY_METHODS, (rule.endpoint, rule.methods)
