"""Deleting (policy 5.4): one drawing or all of them, by destroying their keys; orders explained."""

from __future__ import annotations

from datetime import UTC, datetime

from privacy_support import add_drawing, add_quote, storage

from xometry_site.extensions import db
from xometry_site.models import AuditEvent, Drawing, Quote


def test_delete_all_drawings_needs_a_confirmation(client, user, login_as):
    add_drawing(user)
    login_as(user)
    page = client.get("/privacy/drawings/delete-all?lang=en").get_data(as_text=True)
    assert "You have 1 drawings stored." in page
    page = client.post("/privacy/drawings/delete-all?lang=en", data={}).get_data(as_text=True)
    assert "Tick the box to confirm." in page
    assert db.session.scalar(db.select(Drawing)).wrapped_key is not None


def test_delete_all_destroys_keys_and_files_but_explains_kept_orders(client, user, login_as):
    first = add_drawing(user, b"one")
    second = add_drawing(user, b"two")
    ordered = add_quote(user, status="ordered", ordered_at=datetime(2025, 5, 1, tzinfo=UTC))
    kept = add_drawing(user, b"ordered part", quote=ordered, filename="order-part.step")
    blobs = [first.blob_id, second.blob_id]
    login_as(user)
    page = client.get("/privacy/drawings/delete-all?lang=en").get_data(as_text=True)
    assert "order-part.step" in page and "2028" in page  # kept, and until when
    response = client.post("/privacy/drawings/delete-all?lang=en", data={"confirm": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    for drawing_id in (first.id, second.id):
        row = db.session.get(Drawing, drawing_id)
        assert row.wrapped_key is None and row.blob_id is None and row.deleted_at is not None
        assert row.filename == "-"
    assert not any(storage().exists(b) for b in blobs)
    assert db.session.get(Drawing, kept.id).wrapped_key is not None
    assert storage().exists(kept.blob_id)
    assert (
        db.session.scalar(
            db.select(db.func.count(AuditEvent.id)).filter_by(action="drawing.deleted")
        )
        == 2
    )
    page = client.get("/privacy?lang=en").get_data(as_text=True)
    assert "belong to orders" in page


def test_delete_one_drawing(client, user, login_as):
    drawing = add_drawing(user)
    other = add_drawing(user, b"keep me")
    login_as(user)
    response = client.post(f"/privacy/drawings/{drawing.id}/delete", data={})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Drawing, drawing.id).wrapped_key is None
    assert db.session.get(Drawing, other.id).wrapped_key is not None


def test_another_users_drawing_is_a_404(client, make_user, login_as):
    owner, intruder = make_user(), make_user()
    drawing = add_drawing(owner)
    login_as(intruder)
    assert client.post(f"/privacy/drawings/{drawing.id}/delete", data={}).status_code == 404
    client.post("/privacy/drawings/delete-all", data={"confirm": "y"})
    db.session.expire_all()
    assert db.session.get(Drawing, drawing.id).wrapped_key is not None
    assert storage().exists(drawing.blob_id)


def test_delete_a_quote_with_its_drawings(client, user, login_as):
    quote = add_quote(user)
    drawing = add_drawing(user, b"quoted part", quote=quote, filename="quoted.step")
    other = add_drawing(user, b"other quote")
    quote_id, blob, ref = quote.id, drawing.blob_id, quote.ref
    login_as(user)
    page = client.get("/privacy?lang=en").get_data(as_text=True)
    assert f'action="/privacy/quotes/{ref}/delete"' in page
    response = client.post(f"/privacy/quotes/{ref}/delete?lang=en", data={})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Quote, quote_id) is None
    assert db.session.scalar(db.select(Drawing).filter_by(quote_id=quote_id)) is None
    assert not storage().exists(blob)
    assert storage().exists(other.blob_id)  # only that quote's drawings
    assert db.session.scalar(db.select(AuditEvent).filter_by(action="quote.deleted"))
    page = client.get("/privacy?lang=en").get_data(as_text=True)
    assert "The quote and its drawings have been deleted for good." in page
    assert "quoted.step" not in page


def test_an_order_is_kept_and_the_page_says_why(client, user, login_as):
    ordered = add_quote(user, status="ordered", ordered_at=datetime(2025, 5, 1, tzinfo=UTC))
    add_drawing(user, b"ordered", quote=ordered)
    login_as(user)
    page = client.get("/privacy?lang=en").get_data(as_text=True)
    assert f"/privacy/quotes/{ordered.ref}/delete" not in page
    assert "An order: kept as the law requires." in page
    response = client.post(f"/privacy/quotes/{ordered.ref}/delete?lang=en", data={})
    assert response.status_code == 302
    assert db.session.get(Quote, ordered.id) is not None
    page = client.get("/privacy?lang=en").get_data(as_text=True)
    assert "This quote became an order and is kept as the law requires." in page
