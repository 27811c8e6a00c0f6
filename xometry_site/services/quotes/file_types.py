"""Which drawing formats we accept, and whether a file's leading bytes look like its format.

Checked while an upload streams past (see uploads.py): an extension outside the allow-list is
refused at once, a file whose first bytes betray another type before it is stored.
"""

from __future__ import annotations

import re

# Accepted extensions → the format they must look like (see `check_signature`).
FORMATS = {
    "step": "step",
    "stp": "step",
    "iges": "iges",
    "igs": "iges",
    "stl": "stl",
    "3mf": "3mf",
    "obj": "obj",
    "x_t": "x_t",
    "x_b": "x_b",
    "sldprt": "sldprt",
    "dxf": "dxf",
    "dwg": "dwg",
    "pdf": "pdf",
}
ACCEPT_ATTRIBUTE = ",".join("." + ext for ext in FORMATS)


def extension_of(filename: str) -> str:
    """Lower-case extension without the dot ("x_t", "step"), "" if none."""
    _, dot, ext = filename.rpartition(".")
    return ext.lower() if dot and _ else ""


_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
_BOM = b"\xef\xbb\xbf"
# Things that are never CAD files, refused even where a format has no fixed signature.
_FOREIGN = (b"%PDF-", _ZIP, b"MZ", b"\x7fELF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"#!")
_MARKUP = re.compile(rb"^\s*<(?:!doctype|html|script|svg|\?xml|body|head)", re.IGNORECASE)
_OBJ_LINE = re.compile(rb"^(?:#|v |vt |vn |vp |f |o |g |s |l |p |mtllib |usemtl |cstype |deg )")
_DWG = re.compile(rb"^AC(?:10\d\d|1\.[0-9]|2\.[0-9])")


def _is_text(head: bytes) -> bool:
    """No NUL bytes and decodable as UTF-8 or a single-byte code page: a text format."""
    return b"\x00" not in head


def _foreign(head: bytes) -> bool:
    return head.startswith(_FOREIGN) or bool(_MARKUP.match(head)) or head.startswith(_OLE2)


def check_signature(fmt: str, head: bytes, size: int) -> bool:
    """Whether the leading bytes (and, for binary STL, the size) fit the claimed format.

    Pragmatic where a format has no magic number: OBJ and DXF must look like their text
    syntax; SLDPRT must be an OLE2 compound file (SolidWorks ≤ 2014) or at least not another
    known kind of file (newer SolidWorks files have no published signature); X_B must start
    with "PS" (Parasolid binary transmit). `head` is the first HEAD_SIZE bytes (all of a small
    file); `size` is the whole length.
    """
    text = head.lstrip(_BOM)
    stripped = text.lstrip()
    if fmt == "pdf":
        return b"%PDF-" in head[:1024]
    if fmt == "3mf":
        return head.startswith(_ZIP)
    if fmt == "sldprt":
        return head.startswith(_OLE2) or not (_foreign(head) or _is_text(head))
    if fmt == "dwg":
        return bool(_DWG.match(head))
    if fmt == "step":
        return stripped.startswith(b"ISO-10303-21")
    if fmt == "iges":
        first = text.split(b"\n", 1)[0].rstrip(b"\r")
        return len(first) >= 73 and first[72:73] in (b"S", b"C") and _is_text(head)
    if fmt == "stl":
        return _looks_like_stl(head, size)
    if fmt == "obj":
        return _is_text(head) and _first_lines_match(stripped, _OBJ_LINE)
    if fmt == "x_t":
        return stripped.startswith(b"**") and _is_text(head[:512])
    if fmt == "x_b":
        return head.startswith(b"PS")
    if fmt == "dxf":
        if head.startswith(b"AutoCAD Binary DXF"):
            return True
        return _is_text(head) and bool(re.match(rb"(?:0|999)\s*\r?\n", stripped))
    return False


def _looks_like_stl(head: bytes, size: int) -> bool:
    """ASCII ("solid" then text) or binary (84-byte header + 50 bytes per declared triangle)."""
    if head.lstrip().lower().startswith(b"solid") and _is_text(head):
        return True
    if size < 84 or len(head) < 84:
        return False
    count = int.from_bytes(head[80:84], "little")
    return count > 0 and size == 84 + 50 * count


def _first_lines_match(text: bytes, pattern: re.Pattern[bytes]) -> bool:
    """The first non-blank line (of what we have) follows the format's line syntax."""
    for line in text.splitlines()[:20]:
        line = line.strip()
        if line:
            return bool(pattern.match(line + b" "))
    return False


def early_verdict(fmt: str, head: bytes) -> bool | None:
    """With HEAD_SIZE bytes in hand: False when the file surely is not `fmt`, else None.

    Lets a spoofed 100 MB file be refused after 4 KB; binary STL needs the size, so it waits.
    """
    if fmt == "stl":
        if _looks_like_stl(head, -1):
            return None
        return False if _foreign(head) else None
    return None if check_signature(fmt, head, len(head)) else False
