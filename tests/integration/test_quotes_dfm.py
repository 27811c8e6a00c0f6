"""Manufacturability readings are measured when an uploaded drawing is analysed and stored with it."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from test_quotes_support import cube_stl, post_quote

from xometry_site.models import Quote
from xometry_site.services.quotes import dfm
from xometry_site.services.quotes.pricing import load_rules


def plate_stl(x: float, y: float, z: float) -> bytes:
    """A closed binary STL box, 12 outward triangles, as the CAD exporters write it."""
    v = np.array(
        [(0, 0, 0), (x, 0, 0), (x, y, 0), (0, y, 0), (0, 0, z), (x, 0, z), (x, y, z), (0, y, z)],
        np.float32,
    )
    faces = [
        (0, 2, 1), (0, 3, 2), (4, 5, 6), (4, 6, 7), (0, 1, 5), (0, 5, 4),
        (1, 2, 6), (1, 6, 5), (2, 3, 7), (2, 7, 6), (3, 0, 4), (3, 4, 7),
    ]  # fmt: skip
    records = np.zeros(12, np.dtype([("n", "<f4", (3,)), ("v", "<f4", (9,)), ("a", "<u2")]))
    records["v"] = v[np.array(faces)].reshape(12, 9)
    return b"plate".ljust(80, b" ") + struct.pack("<I", 12) + records.tobytes()


def uploaded(client, db, name: str, data: bytes) -> Quote:
    response = post_quote(client, [(name, data)])
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    db.session.expire_all()
    return db.session.scalar(db.select(Quote).order_by(Quote.id.desc()))


def test_an_uploaded_plate_has_its_wall_thickness_stored_on_the_drawing(client, db, customer):
    quote = uploaded(client, db, "plate.stl", plate_stl(40, 40, 0.3))
    drawing = quote.drawings[0]
    assert drawing.analysis_status == "analysed"
    record = drawing.geometry["dfm"]
    assert record["method"] == dfm.METHOD
    assert record["complete"] is True and record["triangles"] == 12
    assert record["walls"]["measured"] is True
    assert record["walls"]["thickness_mm"]["p1"] == pytest.approx(0.3, abs=1e-3)
    assert record["self_intersection"]["crossing_edges"] == 0
    found = dfm.findings(drawing.geometry, quote.process, load_rules(), quote.material)
    assert [(f.code, f.severity) for f in found] == [("thin_walls", "review")]


def test_a_healthy_cube_is_stored_with_readings_and_no_findings(client, db, customer):
    quote = uploaded(client, db, "cube.stl", cube_stl(20))
    drawing = quote.drawings[0]
    assert quote.status == "quoted"  # pricing is unchanged by the readings it carries
    assert drawing.geometry["dfm"]["walls"]["thickness_mm"]["p1"] == pytest.approx(10.0)
    assert dfm.findings(drawing.geometry, quote.process, load_rules(), quote.material) == []
