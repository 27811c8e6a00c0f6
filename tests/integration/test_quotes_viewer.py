"""The 3D viewer's mesh: made at analysis, encrypted, served to the owner and staff only
(`no-store`, gzip), forgotten with the drawing, re-wrapped with the key ring."""

from __future__ import annotations

import gzip
import json
import re
from datetime import timedelta
from pathlib import Path

import numpy as np
from conftest import cannot_run
from test_quotes_support import cube_stl, pdf_bytes, post_quote, step_box, stored_files

from xometry_site.extensions import db as _db
from xometry_site.models import Drawing, Quote
from xometry_site.models.base import utcnow
from xometry_site.services.keyring import get_keyring
from xometry_site.services.quotes import creation, viewer_mesh
from xometry_site.services.quotes.step_reader import _geometry_from_worker

VIEWER_JS = Path(__file__).parents[2] / "xometry_site/static/build/part_viewer.js"


def upload(client, files) -> Quote:
    assert post_quote(client, files).status_code == 303
    return _db.session.scalars(_db.select(Quote).order_by(Quote.id.desc())).first()


def mesh_url(quote: Quote, drawing: Drawing) -> str:
    return f"/quotes/{quote.ref}/files/{drawing.id}/mesh.bin"


def served_mesh(client, quote, drawing):
    response = client.get(mesh_url(quote, drawing), headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    return viewer_mesh.decode(response.data)


def test_an_analysed_stl_gets_a_mesh_its_owner_can_fetch(client, db, customer):
    quote = upload(client, [("cube.stl", cube_stl(20))])
    drawing = quote.drawings[0]
    assert drawing.has_mesh and drawing.mesh_key_id == get_keyring(client.application).primary
    blob = next(p for p in stored_files(client.application) if p.name == drawing.mesh_blob_id)
    assert b"XMSH" not in blob.read_bytes() and not blob.read_bytes().startswith(b"\x1f\x8b")

    response = client.get(mesh_url(quote, drawing), headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    positions, indices = viewer_mesh.decode(response.data)
    assert indices.shape == (12, 3) and positions.shape == (8, 3)  # the cube's corners, shared
    assert np.allclose(positions.min(axis=0), 0) and np.allclose(positions.max(axis=0), 20)
    assert cube_stl(20) not in gzip.decompress(response.data)  # never the drawing itself

    plain = client.get(mesh_url(quote, drawing))  # a client that takes no gzip gets it inflated
    assert "Content-Encoding" not in plain.headers
    assert plain.data == gzip.decompress(response.data) and plain.data.startswith(b"XMSH")


def test_a_step_drawing_keeps_its_tessellation_as_the_mesh(client, db, customer, tmp_path):
    quote = upload(client, [("box.step", step_box(tmp_path, 30, 20, 10))])
    positions, indices = served_mesh(client, quote, quote.drawings[0])
    assert len(indices) >= 12
    size = positions.max(axis=0) - positions.min(axis=0)
    assert np.allclose(size, [30, 20, 10], atol=0.01)


def test_the_quote_page_offers_the_viewer_with_the_parts_size(client, db, customer):
    quote = upload(client, [("bracket.stl", cube_stl(20))])
    drawing = quote.drawings[0]
    html = client.get(f"/quotes/{quote.ref}?lang=en").get_data(as_text=True)
    figure = re.search(r"<figure[^>]*data-part-viewer[^>]*>", html, re.S).group(0)
    assert f'data-mesh-url="{mesh_url(quote, drawing)}"' in figure
    assert 'data-length-x="20.0 mm"' in figure
    assert 'data-label="3D view of bracket.stl"' in figure
    assert "Size: 20.0 × 20.0 × 20.0 mm" in html
    assert re.search(r'<button type="button"[^>]*part-viewer-reset[^>]*hidden>Reset view<', html)
    assert re.search(r'<img class="part-preview" src="[^"]+/preview.png"', html)  # the fallback
    assert '<script type="module" src="/static/build/part_viewer.js">' in html
    assert "<script>" not in html  # no inline script: the CSP allows none
    zh = client.get(f"/quotes/{quote.ref}?lang=zh_CN").get_data(as_text=True)
    assert "尺寸：20.0 × 20.0 × 20.0 毫米" in zh and "重置视图" in zh


def test_the_viewer_script_is_built_and_served_from_the_site(client, db, customer):
    if not VIEWER_JS.exists():
        cannot_run(f"{VIEWER_JS} is not built: run `make assets` (npm ci, then the bundle)")
    response = client.get("/static/build/part_viewer.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["Content-Type"]
    body = response.get_data(as_text=True)
    assert "WebGL" in body and "XMSH" not in body  # three.js is in the bundle
    assert not re.search(r"https?://[^\s\"']*(cdn|unpkg|jsdelivr)", body)


def test_drawings_without_a_mesh_keep_the_image_alone(client, db, customer):
    quote = upload(client, [("old.stl", cube_stl(20)), ("plan.pdf", pdf_bytes())])
    old = next(d for d in quote.drawings if d.extension == "stl")
    old.mesh_blob_id = old.mesh_key_id = old.mesh_wrapped_key = None  # analysed before meshes
    db.session.commit()
    html = client.get(f"/quotes/{quote.ref}").get_data(as_text=True)
    assert "data-part-viewer" not in html and "part_viewer.js" not in html
    assert f"/files/{old.id}/preview.png" in html
    assert client.get(mesh_url(quote, old)).status_code == 404
    pdf = next(d for d in quote.drawings if d.extension == "pdf")
    assert not pdf.has_mesh and client.get(mesh_url(quote, pdf)).status_code == 404


def test_a_tessellation_larger_than_the_preview_keeps_gets_no_mesh(app, db):
    """STEP: every k-th triangle would show holes in 3D; the image (which fills them) stays."""
    triangles = np.array([[[0, 0, 0], [1, 0, 0], [0, 1, 0]]] * 10, np.float32)
    report = {
        "volume": 1.0, "area": 1.0, "bbox_min": [0, 0, 0], "bbox_max": [1, 1, 1], "faces": 1,
        "solids": 1, "closed": True, "tessellated_triangles": 25, "mesh_triangles": 10,
    }  # fmt: skip
    out = json.dumps(report).encode() + b"\n" + triangles.tobytes()
    strided = _geometry_from_worker(out, "step")
    assert len(strided.preview_triangles) == 10 and strided.viewer_triangles is None
    drawing = Drawing()
    assert creation._store_mesh(drawing, strided) is None and not drawing.mesh_blob_id
    report["tessellated_triangles"] = 10
    whole = _geometry_from_worker(json.dumps(report).encode() + b"\n" + triangles.tobytes(), "step")
    assert whole.viewer_triangles is whole.preview_triangles


def test_another_customer_gets_404_staff_get_the_mesh_anonymous_sign_in(
    client, db, make_user, login_as
):
    owner = make_user()
    login_as(owner)
    quote = upload(client, [("cube.stl", cube_stl())])
    drawing = quote.drawings[0]
    login_as(make_user())
    assert client.get(mesh_url(quote, drawing)).status_code == 404
    mine = upload(client, [("mine.stl", cube_stl())])
    assert client.get(f"/quotes/{mine.ref}/files/{drawing.id}/mesh.bin").status_code == 404

    login_as(make_user(is_staff=True))
    response = client.get(mesh_url(quote, drawing))
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"

    with client.session_transaction() as session:
        session.clear()
    response = client.get(mesh_url(quote, drawing))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_shredding_the_drawing_destroys_its_mesh(app, client, db, customer):
    from xometry_site.services.quotes.drawing_files import shred_drawing

    quote = upload(client, [("cube.stl", cube_stl())])
    drawing = quote.drawings[0]
    blob = drawing.mesh_blob_id
    assert blob in {p.name for p in stored_files(app)}
    shred_drawing(drawing)
    db.session.expire_all()
    assert drawing.mesh_wrapped_key is None and drawing.mesh_key_id is None
    assert blob not in {p.name for p in stored_files(app)}
    assert client.get(mesh_url(quote, drawing)).status_code == 404


def test_deleting_the_quote_destroys_its_mesh(app, client, db, customer):
    quote = upload(client, [("cube.stl", cube_stl())])
    blob = quote.drawings[0].mesh_blob_id
    assert client.post(f"/privacy/quotes/{quote.ref}/delete").status_code == 302
    assert blob not in {p.name for p in stored_files(app)}


def test_erasing_the_account_destroys_its_meshes(app, client, db, customer):
    from xometry_site.services.privacy import erasure

    quote = upload(client, [("cube.stl", cube_stl())])
    blob = quote.drawings[0].mesh_blob_id
    customer.deregistered_at = utcnow() - timedelta(days=8)
    customer.erase_after = utcnow() - timedelta(days=1)
    db.session.commit()
    assert erasure.erase_account(customer.id, notify=False) is not None
    assert blob not in {p.name for p in stored_files(app)}


def test_key_rotation_rewraps_the_mesh_and_the_sweep_keeps_it(app, client, db, runner, customer):
    quote = upload(client, [("cube.stl", cube_stl())])
    drawing = quote.drawings[0]
    old = get_keyring(app).primary
    before = served_mesh(client, quote, drawing)
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    new = get_keyring(app).primary
    assert new != old and drawing.mesh_key_id == new
    assert runner.invoke(args=["keys", "retire", old]).exit_code == 0
    after = served_mesh(client, quote, drawing)
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))

    result = runner.invoke(args=["quotes", "sweep", "--grace-hours", "0"])
    assert result.exit_code == 0, result.output
    assert drawing.mesh_blob_id in {p.name for p in stored_files(app)}
