"""Pages that only read run their queries outside a transaction.

psycopg opens a transaction with a BEGIN of its own before the first query, and the session ends
it with a ROLLBACK: two of the five round trips of a signed-in quote list (pre-ping, BEGIN, user,
quotes, ROLLBACK), each a wait for a database process to get a core on a busy machine, and 60 % of
the database's CPU for the page. A view marked `@reads_only` starts its session in autocommit
mode instead: the pool's pre-ping, then its SELECTs. Under READ COMMITTED, PostgreSQL's default
and ours, each SELECT of a transaction takes a snapshot of its own anyway, so the page sees
exactly what it saw before.

Such a view must not write, and a write is refused (`WriteInReadOnlyView`) rather than sent
unguarded: a service that sometimes writes on a page that reads (a lapsed price expiring) calls
`writable()` first, which returns the session to transactions for the rest of the request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from .extensions import db

MARK = "reads_only"  # on the view function, and in the session's `info` while it reads only
View = TypeVar("View", bound=Callable[..., Any])


class WriteInReadOnlyView(RuntimeError):
    """A view marked `@reads_only` tried to write without calling `writable()` first."""


def reads_only(view: View) -> View:
    """Mark a GET view that never writes; put it right under the route decorator."""
    setattr(view, MARK, True)
    return view


def init_app(app: Flask) -> None:
    """Before any other hook can load the user. Nothing to undo: the session is removed when the
    request ends, and the pool puts its connection back in transaction mode on return."""
    app.before_request(_start)
    if not event.contains(Session, "before_flush", _refuse_flush):
        event.listen(Session, "before_flush", _refuse_flush)
        event.listen(Session, "do_orm_execute", _refuse_statement)


def start_reading() -> None:
    """Begin the request's session in autocommit mode, unless it is already in a transaction
    (never in production, where each request has a new session; tests share theirs)."""
    session = db.session()
    if session.in_transaction():
        return
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    session.info[MARK] = True


def writable() -> None:
    """What follows runs in a transaction again (objects loaded so far reload when next read)."""
    session = db.session()
    if session.info.pop(MARK, False):
        session.rollback()  # no transaction to end: hands the autocommit connection back


def _start() -> None:
    current = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup
    if current.method in ("GET", "HEAD"):
        view = current_app.view_functions.get(current.endpoint or "")
        if getattr(view, MARK, False):
            start_reading()


def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get(MARK) and (session.new or session.dirty or session.deleted):
        raise WriteInReadOnlyView("flush in a view marked @reads_only; call writable() first")


def _refuse_statement(state: ORMExecuteState) -> None:
    if state.session.info.get(MARK) and (state.is_insert or state.is_update or state.is_delete):
        raise WriteInReadOnlyView("write in a view marked @reads_only; call writable() first")
