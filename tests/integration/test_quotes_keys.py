"""`flask keys rotate|rewrap|retire` and `flask quotes sweep` against real drawings."""

from __future__ import annotations

import os
import time

import pytest
from test_quotes_support import cube_stl, pdf_bytes, post_quote

from xometry_site.models import Drawing, InvoiceProfile
from xometry_site.services.keyring import get_keyring
from xometry_site.services.storage import get_storage


@pytest.fixture
def customer(make_user, login_as):
    """A signed-in, verified customer who reads Chinese."""
    user = make_user(preferred_language="zh_CN")
    login_as(user)
    return user


def upload_some(client, db) -> list[Drawing]:
    assert post_quote(client, [("a.stl", cube_stl()), ("b.pdf", pdf_bytes())]).status_code == 303
    assert post_quote(client, [("c.stl", cube_stl(30))]).status_code == 303
    return list(db.session.scalars(db.select(Drawing)))


def downloads_all(client, drawings) -> None:
    """Every drawing comes back byte for byte (and its preview and viewer mesh still decrypt)."""
    originals = {"a.stl": cube_stl(), "b.pdf": pdf_bytes(), "c.stl": cube_stl(30)}
    for d in drawings:
        response = client.get(f"/quotes/{d.quote.ref}/files/{d.id}")
        assert response.status_code == 200, d.filename
        assert response.data == originals[d.filename], d.filename
        if d.has_preview:
            assert client.get(f"/quotes/{d.quote.ref}/files/{d.id}/preview.png").status_code == 200
        if d.has_mesh:
            assert client.get(f"/quotes/{d.quote.ref}/files/{d.id}/mesh.bin").status_code == 200


def test_rotate_rewraps_every_key_and_every_drawing_still_downloads(
    app, client, db, runner, customer
):
    db.session.add(InvoiceProfile(user_id=customer.id, kind="personal", tax_number="X123"))
    db.session.commit()
    drawings = upload_some(client, db)
    old = get_keyring(app).primary
    blobs_before = {
        p.name: p.read_bytes() for p in (get_storage(app).root).rglob("*") if p.is_file()
    }
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    new = get_keyring(app).primary
    assert new != old
    derived = sum(1 for d in drawings for b in (d.preview_blob_id, d.mesh_blob_id) if b)
    assert derived == 4  # a preview and a viewer mesh for each STL
    assert f"re-wrapped {3 + derived} data key(s)" in result.output  # drawings, previews, meshes
    assert "re-encrypted 1 field(s)" in result.output
    db.session.expire_all()
    assert {d.key_id for d in drawings} == {new}
    assert {d.preview_key_id for d in drawings if d.preview_blob_id} == {new}
    assert {d.mesh_key_id for d in drawings if d.mesh_blob_id} == {new}
    blobs_after = {
        p.name: p.read_bytes() for p in (get_storage(app).root).rglob("*") if p.is_file()
    }
    assert blobs_after == blobs_before  # content untouched: only the data keys were re-wrapped
    downloads_all(client, drawings)
    assert db.session.scalar(db.select(InvoiceProfile)).tax_number == "X123"
    # the old key protects nothing any more: it can go, and everything still reads
    assert runner.invoke(args=["keys", "retire", old]).exit_code == 0
    assert old not in get_keyring(app).keys
    downloads_all(client, drawings)


def test_retire_is_refused_while_a_drawing_uses_the_key(app, client, db, runner, customer):
    drawings = upload_some(client, db)
    ring = get_keyring(app)
    old = ring.primary
    ring.promote(ring.add_key())  # a new primary, nothing re-wrapped yet
    ring.save()
    result = runner.invoke(args=["keys", "retire", old])
    assert result.exit_code != 0
    assert "still protects data" in result.output
    assert old in get_keyring(app).keys
    result = runner.invoke(args=["keys", "rewrap"])
    assert result.exit_code == 0 and "re-wrapped" in result.output, result.output
    assert runner.invoke(args=["keys", "retire", old]).exit_code == 0
    downloads_all(client, drawings)
    assert runner.invoke(args=["keys", "retire", get_keyring(app).primary]).exit_code != 0


def test_sweep_removes_only_old_orphans(app, client, db, runner, customer):
    from xometry_site.services.vault import store_encrypted

    drawings = upload_some(client, db)
    storage = get_storage(app)
    ring = get_keyring(app)
    old_orphan = store_encrypted(storage, ring, [b"left by a crash"]).blob_id
    young_orphan = store_encrypted(storage, ring, [b"upload in progress"]).blob_id
    past = time.time() - 7 * 3600
    os.utime(storage.path_for(old_orphan), (past, past))
    for d in drawings:
        os.utime(storage.path_for(d.blob_id), (past, past))
    result = runner.invoke(args=["quotes", "sweep"])
    assert result.exit_code == 0, result.output
    assert "removed 1 orphaned blob(s)" in result.output
    assert not storage.exists(old_orphan)
    assert storage.exists(young_orphan)
    assert all(storage.exists(d.blob_id) for d in drawings)
    downloads_all(client, drawings)
