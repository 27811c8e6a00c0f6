"""Helpers and fixtures shared by the test_quotes_* modules (this module holds no tests).

Multipart bodies are built here byte by byte (RFC 7578) rather than by Werkzeug's test client,
which drops the CRLF before the boundary after an empty field; browsers never do.
"""

from __future__ import annotations

import io
import os
import secrets
import struct
import tempfile
from pathlib import Path

CUBE_FACES = [
    (0, 2, 1), (0, 3, 2), (4, 5, 6), (4, 6, 7), (0, 1, 5), (0, 5, 4),
    (1, 2, 6), (1, 6, 5), (2, 3, 7), (2, 7, 6), (3, 0, 4), (3, 4, 7),
]  # fmt: skip


def cube_stl(size: float = 20.0, header: bytes = b"", repeat: int = 1) -> bytes:
    """A closed binary STL cube of `size` mm; `header` goes into the 80-byte header.

    `repeat` > 1 repeats the 12 triangles (a bigger file, no longer watertight).
    """
    s = size
    v = [(0, 0, 0), (s, 0, 0), (s, s, 0), (0, s, 0), (0, 0, s), (s, 0, s), (s, s, s), (0, s, s)]
    records = bytearray()
    for a, b, c in CUBE_FACES:
        records += struct.pack("<3f", 0, 0, 0)
        for i in (a, b, c):
            records += struct.pack("<3f", *v[i])
        records += b"\0\0"
    count = struct.pack("<I", len(CUBE_FACES) * repeat)
    return bytes(header[:80].ljust(80, b" ")) + count + bytes(records) * repeat


def flat_stl() -> bytes:
    """Binary STL whose triangles all lie in one plane: no volume (degenerate)."""
    out = bytearray(b"flat".ljust(80, b" ")) + struct.pack("<I", 2)
    for tri in (((0, 0, 0), (10, 0, 0), (10, 10, 0)), ((0, 0, 0), (10, 10, 0), (0, 10, 0))):
        out += struct.pack("<3f", 0, 0, 1)
        for p in tri:
            out += struct.pack("<3f", *p)
        out += b"\0\0"
    return bytes(out)


def malformed_ascii_stl() -> bytes:
    """Starts like an ASCII STL, then is not one."""
    return (
        b"solid broken\n facet normal 0 0 1\n  outer loop\n   vertex 0 0 zero\n"
        b"   vertex 1 0 0\n   vertex 0 1 0\n  endloop\n endfacet\nendsolid broken\n"
    )


def pdf_bytes(marker: str = "") -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% "
        + marker.encode()
        + b"\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


def broken_step() -> bytes:
    """Has the STEP signature, but OpenCascade cannot make a shape of it."""
    return b"ISO-10303-21;\nHEADER;\nFILE_NAME('x');\nENDSEC;\nDATA;\n#1=GARBAGE(;\nENDSEC;\nEND-ISO-10303-21;\n"


def step_box(tmp_path: Path, dx: float = 30, dy: float = 20, dz: float = 10) -> bytes:
    """A real STEP solid box made with OpenCascade (written to a test temp file, then read)."""
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeBox
    from OCP.IFSelect import IFSelect_RetDone
    from OCP.STEPControl import STEPControl_AsIs, STEPControl_Writer

    writer = STEPControl_Writer()
    writer.Transfer(BRepPrimAPI_MakeBox(dx, dy, dz).Shape(), STEPControl_AsIs)
    path = tmp_path / "box.step"
    assert writer.Write(str(path)) == IFSelect_RetDone
    data = path.read_bytes()
    path.unlink()
    return data


def multipart(
    fields: list[tuple[str, str]],
    files: list[tuple[str, bytes]],
    boundary: str | None = None,
    file_field: str = "files",
) -> tuple[bytes, str]:
    """(body, content type) with text fields first, then the files, like a browser's form."""
    boundary = boundary or "----xometryTest" + secrets.token_hex(8)
    out = bytearray()
    for name, value in fields:
        out += f"--{boundary}\r\n".encode()
        out += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode("utf-8") + b"\r\n"
    for filename, data in files:
        out += f"--{boundary}\r\n".encode()
        disposition = f'form-data; name="{file_field}"; filename="{filename}"'
        out += f"Content-Disposition: {disposition}\r\n".encode()
        out += b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


DEFAULT_FIELDS = {"process": "cnc_machining", "material": "al6061", "quantity": "2"}


def quote_fields(csrf: str | None = None, **overrides: str) -> list[tuple[str, str]]:
    values = {**DEFAULT_FIELDS, **overrides}
    fields = [("csrf_token", csrf)] if csrf is not None else []
    return fields + [(k, v) for k, v in values.items() if v is not None]


def post_quote(client, files, csrf=None, headers=None, **fields):
    """POST /quotes/new as a browser without JavaScript would."""
    body, content_type = multipart(quote_fields(csrf, **fields), files)
    return client.post("/quotes/new", data=body, content_type=content_type, headers=headers or {})


def csrf_token_from_page(client, path: str = "/quotes/new") -> str:
    """The csrf_token the form on `path` carries for this client's session."""
    import re

    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def stored_files(app) -> list[Path]:
    """Every file under the blob storage root (committed blobs and temporary writes)."""
    root = Path(app.instance_path) / "blobs"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def files_containing(marker: bytes, roots: list[Path], since: float) -> list[Path]:
    """Files under `roots` changed since `since` whose bytes contain `marker`."""
    found = []
    for root in roots:
        for dirpath, _dirs, names in os.walk(root):
            for name in names:
                path = Path(dirpath) / name
                try:
                    info = path.stat()
                    if info.st_mtime < since - 1 or info.st_size > 300 * 1024 * 1024:
                        continue
                    if marker in path.read_bytes():
                        found.append(path)
                except (OSError, PermissionError):
                    continue
    return found


def plaintext_roots(app) -> list[Path]:
    return [Path(app.instance_path), Path(tempfile.gettempdir())]


def as_file(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


def waiting_quote(app, db, user, data: bytes | None = None, filename: str = "cube.stl") -> int:
    """A quote whose STL (a cube unless `data`) is stored but not analysed yet, as the upload
    leaves it for its job."""
    from xometry_site.models import Quote
    from xometry_site.services.keyring import get_keyring
    from xometry_site.services.quotes.drawing_files import stored_drawing
    from xometry_site.services.storage import get_storage
    from xometry_site.services.vault import store_encrypted

    quote = Quote(user_id=user.id, process="cnc_machining", material="al6061", quantity=2)
    db.session.add(quote)
    db.session.flush()
    stored = store_encrypted(get_storage(app), get_keyring(app), [data or cube_stl(20)])
    db.session.add(
        stored_drawing(
            stored,
            quote_id=quote.id,
            user_id=user.id,
            filename=filename,
            extension=filename.rsplit(".", 1)[-1],
        )
    )
    db.session.commit()
    return quote.id
