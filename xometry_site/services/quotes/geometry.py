"""Geometry of uploaded CAD parts, computed from a stream of plaintext bytes.

Drawings are stored encrypted and never written to disk in plaintext, so every analysis here
reads an iterator of decrypted chunks: STL is parsed in fixed-size blocks (constant memory apart
from the watertightness edge table), STEP/IGES go to OpenCascade in a child process through an
in-memory file (memfd). Failures raise `GeometryError(reason_code)`; the quote then goes to an
engineer with that reason instead of failing the request.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from flask_babel import lazy_gettext as _l

# Watertightness keeps 24 bytes per triangle (three 64-bit edge keys): above this many
# triangles it is not computed and reported as None (120 MB of keys at the limit).
WATERTIGHT_MAX_TRIANGLES = 5_000_000
BLOCK_TRIANGLES = 16_384  # binary records per numpy block: fits in L2, amortises numpy calls
ASCII_BLOCK_BYTES = 4 << 20  # text per parse call
ASCII_MAX_FACET_BYTES = 16 << 20  # more text than this without an "endfacet" is not an STL
READ_AHEAD_BYTES = 1 << 20  # background reads are handed over in pieces of at least this
PEEK_BYTES = 4096  # enough to tell ASCII from binary STL
SMALLEST_SENSIBLE_MM = 5.0  # below this the part was probably drawn in inches (see units_hint)
STEP_WORKER = Path(__file__).with_name("step_worker.py")
STEP_MEMORY_LIMIT = 4 << 30  # address-space cap for the OpenCascade child

ANALYSABLE_FORMATS = {"stl": "stl", "step": "step", "stp": "step", "iges": "iges", "igs": "iges"}
# Formats we accept for quoting but cannot measure: an engineer reads them.
REVIEW_FORMATS = frozenset({"dwg", "dxf", "pdf", "sldprt", "sldasm", "x_t", "x_b", "ipt", "prt"})

REASON_LABELS = {
    "empty": _l("The file is empty."),
    "truncated": _l("The file is cut short; please upload it again."),
    "malformed": _l("The file is not a valid STL."),
    "degenerate": _l("The model encloses no volume (it is flat or has no solid faces)."),
    "unreadable": _l("The CAD file could not be read."),
    "timeout": _l("The CAD file took too long to analyse."),
    "too_complex": _l("The CAD file is too complex to analyse automatically."),
    "unsupported_format": _l("This file format is not analysed automatically."),
}

_RECORD = np.dtype([("normal", "<f4", (3,)), ("v", "<f4", (9,)), ("attr", "<u2")])
assert _RECORD.itemsize == 50  # noqa: S101 - the STL record layout is a fixed contract

# Hash constants (odd 64-bit multipliers from splitmix64 / murmur3 finalisers).
_K1, _K2, _K3 = (
    np.uint64(0x9E3779B97F4A7C15),
    np.uint64(0xC2B2AE3D27D4EB4F),
    np.uint64(0x165667B19E3779F9),
)
_K4, _K5 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)
_S29, _S32 = np.uint64(29), np.uint64(32)


class GeometryError(Exception):
    """A drawing we could not measure; `reason_code` is a key the UI translates."""

    def __init__(self, reason_code: str, message: str = "") -> None:
        super().__init__(f"{reason_code}: {message}" if message else reason_code)
        self.reason_code = reason_code
        self.message = message


@dataclass
class PartGeometry:
    """What pricing and the quote page need to know about one part, in millimetres."""

    format: str
    volume_mm3: float
    area_mm2: float
    bbox_min: tuple[float, float, float]
    bbox_max: tuple[float, float, float]
    triangles: int | None = None
    faces: int | None = None
    solids: int | None = None
    watertight: bool | None = None
    units_hint: str | None = None
    preview_triangles: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def size(self) -> tuple[float, float, float]:
        """Extent along x, y, z."""
        return tuple(hi - lo for lo, hi in zip(self.bbox_min, self.bbox_max, strict=True))  # type: ignore[return-value]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for the quote record (the preview mesh is not stored)."""
        return {
            "format": self.format,
            "volume_mm3": self.volume_mm3,
            "area_mm2": self.area_mm2,
            "bbox_min": list(self.bbox_min),
            "bbox_max": list(self.bbox_max),
            "size": list(self.size),
            "triangles": self.triangles,
            "faces": self.faces,
            "solids": self.solids,
            "watertight": self.watertight,
            "units_hint": self.units_hint,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PartGeometry:
        """Inverse of to_dict; ignores derived and unknown keys so old records still load."""
        return cls(
            format=data["format"],
            volume_mm3=float(data["volume_mm3"]),
            area_mm2=float(data["area_mm2"]),
            bbox_min=tuple(float(x) for x in data["bbox_min"]),  # type: ignore[arg-type]
            bbox_max=tuple(float(x) for x in data["bbox_max"]),  # type: ignore[arg-type]
            triangles=data.get("triangles"),
            faces=data.get("faces"),
            solids=data.get("solids"),
            watertight=data.get("watertight"),
            units_hint=data.get("units_hint"),
        )


class TriangleSink(Protocol):
    """Receives every block of triangles while an STL streams past (the preview sampler)."""

    def begin(self, expected: int | None) -> None: ...

    def add(self, planes: np.ndarray) -> None:
        """`planes` is (9, k): x0 y0 z0 x1 y1 z1 x2 y2 z2 rows; only valid during the call."""


def drawing_format(filename: str) -> str:
    """Lower-case extension of an upload's name ("x_t", "step", ...), "" if none."""
    suffix = Path(filename).suffix.lower()
    return suffix[1:] if suffix else ""


def analyze_drawing(
    filename: str, chunks: Iterable[bytes], sink: TriangleSink | None = None
) -> PartGeometry:
    """Measure a drawing by its extension; formats we cannot read raise "unsupported_format"."""
    kind = ANALYSABLE_FORMATS.get(drawing_format(filename))
    if kind == "stl":
        return analyze_stl(chunks, sink=sink)
    if kind in ("step", "iges"):
        return analyze_step(chunks, kind=kind)
    raise GeometryError("unsupported_format", drawing_format(filename) or filename)


def units_hint(size: Iterable[float]) -> str | None:
    """ "inch" when the largest extent is so small the part was probably drawn in inches."""
    largest = max(size)
    return "inch" if 0 < largest < SMALLEST_SENSIBLE_MM else None


# --------------------------------------------------------------------------- streaming input


class _Stream:
    """Re-chunks an iterator of bytes into the reads the parsers want, copying each byte once."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._it: Iterator[bytes] = iter(chunks)
        self._cur = memoryview(b"")

    def _next_chunk(self) -> bool:
        for chunk in self._it:
            if chunk:
                self._cur = memoryview(chunk).cast("B")
                return True
        return False

    def peek(self, size: int) -> bytes:
        """Up to `size` bytes without consuming them."""
        while len(self._cur) < size:
            head = self._cur
            if not self._next_chunk():
                self._cur = head
                break
            if head:
                self._cur = memoryview(bytes(head) + bytes(self._cur))
        return bytes(self._cur[:size])

    def readinto(self, buffer: memoryview) -> int:
        """Fill `buffer`; fewer bytes only at the end of the stream."""
        filled = 0
        while filled < len(buffer):
            if not self._cur and not self._next_chunk():
                break
            n = min(len(self._cur), len(buffer) - filled)
            buffer[filled : filled + n] = self._cur[:n]
            self._cur = self._cur[n:]
            filled += n
        return filled

    def read(self, size: int) -> bytes:
        """Exactly `size` bytes, fewer only at the end of the stream."""
        if not self._cur:
            self._next_chunk()
        if len(self._cur) >= size:  # the common case: one copy straight out of the chunk
            data = bytes(self._cur[:size])
            self._cur = self._cur[size:]
            return data
        buffer = bytearray(size)
        n = self.readinto(memoryview(buffer))
        del buffer[n:]
        return bytes(buffer)


# --------------------------------------------------------------------------- accumulation


class _Totals:
    """Running volume, area, bounding box and edge keys over blocks of triangles."""

    def __init__(self, check_watertight: bool, expected: int | None) -> None:
        self.count = 0
        self.degenerate = 0
        self.area2 = 0.0  # twice the area
        self.volume6 = 0.0  # six times the signed volume
        self.lo = np.full(3, np.inf)
        self.hi = np.full(3, -np.inf)
        self.origin: np.ndarray | None = None
        self.check_watertight = check_watertight
        self._keys: list[np.ndarray] = []
        self._key_array: np.ndarray | None = None
        self._key_fill = 0
        if check_watertight and expected and expected <= WATERTIGHT_MAX_TRIANGLES:
            # one exact allocation; np.empty only reserves address space, so a lying header
            # in a small file costs no memory until keys are actually written
            self._key_array = np.empty(3 * expected, np.uint64)

    @np.errstate(over="ignore", invalid="ignore")  # inf/nan are caught once, in result()
    def add(self, p: np.ndarray) -> None:
        """Fold in a (9, k) block of vertex coordinates."""
        k = p.shape[1]
        if k == 0:
            return
        if self.origin is None:  # volume relative to a vertex of the part: less cancellation
            self.origin = p[0:3, :1].copy()
        e = p[3:9].reshape(2, 3, k) - p[0:3]
        e1, e2 = e[0], e[1]
        cx = e1[1] * e2[2] - e1[2] * e2[1]
        cy = e1[2] * e2[0] - e1[0] * e2[2]
        cz = e1[0] * e2[1] - e1[1] * e2[0]
        norm = np.sqrt(cx * cx + cy * cy + cz * cz)
        self.area2 += float(norm.sum(dtype=np.float64))
        self.degenerate += k - int(np.count_nonzero(norm))
        o = p[0:3] - self.origin
        self.volume6 += float((o[0] * cx + o[1] * cy + o[2] * cz).sum(dtype=np.float64))
        q = p.reshape(3, 3, k)
        self.lo = np.minimum(self.lo, q.min(axis=(0, 2)))
        self.hi = np.maximum(self.hi, q.max(axis=(0, 2)))
        self.count += k
        if self.check_watertight:
            self._add_edges(p, collapsed=k != int(np.count_nonzero(norm)))

    def _add_edges(self, p: np.ndarray, collapsed: bool) -> None:
        if self.count > WATERTIGHT_MAX_TRIANGLES:
            self.check_watertight = False
            self._keys, self._key_array = [], None
            return
        keys = _edge_keys(p, collapsed)
        if self._key_array is not None and self._key_fill + keys.size <= self._key_array.size:
            self._key_array[self._key_fill : self._key_fill + keys.size] = keys
            self._key_fill += keys.size
        else:
            if self._key_array is not None:  # more triangles than the header declared
                self._keys.append(self._key_array[: self._key_fill])
                self._key_array = None
            self._keys.append(keys)

    def watertight(self) -> bool | None:
        """Every edge shared by exactly two triangles (None when not computed)."""
        if not self.check_watertight:
            return None
        if self._key_array is not None:
            keys = self._key_array[: self._key_fill]
        else:
            keys = np.concatenate(self._keys) if self._keys else np.empty(0, np.uint64)
            self._keys = []
        self._key_array = None
        if keys.size == 0 or keys.size % 2:
            return False
        keys.sort()
        pairs = keys.reshape(-1, 2)
        # sorted keys in equal pairs, with no key in two neighbouring pairs → each count is 2
        return bool(np.all(pairs[:, 0] == pairs[:, 1]) and np.all(pairs[1:, 0] != pairs[:-1, 1]))

    def result(self, fmt: str) -> PartGeometry:
        if self.count == 0:
            raise GeometryError("empty", "no triangles")
        if not (np.all(np.isfinite(self.lo)) and np.all(np.isfinite(self.hi))):
            raise GeometryError("malformed", "coordinates are not finite numbers")
        if not (np.isfinite(self.area2) and np.isfinite(self.volume6)):
            raise GeometryError("malformed", "coordinates too large")
        if self.degenerate == self.count:
            raise GeometryError("degenerate", "every triangle has zero area")
        lo, hi = tuple(float(x) for x in self.lo), tuple(float(x) for x in self.hi)
        size = [b - a for a, b in zip(lo, hi, strict=True)]
        volume = abs(self.volume6) / 6.0
        diagonal = float(np.sqrt(sum(s * s for s in size)))
        if volume <= 1e-9 * diagonal**3 or min(size) <= 0:
            raise GeometryError("degenerate", "the part encloses no volume")
        return PartGeometry(
            format=fmt,
            volume_mm3=volume,
            area_mm2=self.area2 / 2.0,
            bbox_min=lo,  # type: ignore[arg-type]
            bbox_max=hi,  # type: ignore[arg-type]
            triangles=self.count,
            watertight=self.watertight(),
            units_hint=units_hint(size),
        )


def _edge_keys(p: np.ndarray, collapsed: bool) -> np.ndarray:
    """64-bit keys of the three undirected edges of each triangle, vertices matched exactly.

    Vertices are quantised to float32 (the precision of binary STL) and hashed from their bits;
    a hash collision between distinct edges has probability ~n²/2⁶⁴, negligible at our limits.
    When `collapsed`, triangles with two coincident corners are left out: they are collapsed
    slivers, not holes.
    """
    k = p.shape[1]
    bits = np.add(p, 0, dtype=np.float32).view(np.uint32)  # + 0 folds -0.0 into 0.0
    u = bits.astype(np.uint64).reshape(3, 3, k)
    h = u[:, 0] * _K1
    t = u[:, 1] * _K2
    h ^= t
    np.multiply(u[:, 2], _K3, out=t)
    h ^= t
    np.right_shift(h, _S29, out=t)
    h ^= t
    h *= _K4
    np.right_shift(h, _S32, out=t)
    h ^= t
    c = h[[1, 2, 0]]
    keep = np.all(h != c, axis=0) if collapsed else None
    hi = np.maximum(h, c)
    lo = np.minimum(h, c, out=h)
    np.right_shift(hi, _S29, out=c)
    hi ^= c
    lo *= _K5
    lo += hi
    return lo.ravel() if keep is None else lo[:, keep].ravel()


# --------------------------------------------------------------------------- STL


def analyze_stl(
    chunks: Iterable[bytes],
    *,
    check_watertight: bool = True,
    sink: TriangleSink | None = None,
    prefetch: bool = True,
) -> PartGeometry:
    """Volume, area, bounding box and watertightness of an STL (binary or ASCII), streamed.

    With `prefetch`, the chunks are pulled in a background thread (see read_ahead), so
    decrypting or downloading the next ones overlaps with the numpy work on this one.
    """
    source = read_ahead(chunks) if prefetch else iter(chunks)
    try:
        stream = _Stream(source)
        head = stream.peek(PEEK_BYTES)
        if not head.strip():
            raise GeometryError("empty", "the file is empty")
        if _is_ascii(head):
            return _read_ascii(stream, check_watertight, sink).result("stl-ascii")
        return _read_binary(stream, check_watertight, sink).result("stl-binary")
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


def read_ahead(chunks: Iterable[bytes], depth: int = 4) -> Iterator[bytes]:
    """Iterate `chunks` in a background thread, up to `depth` chunks ahead.

    Decryption (OpenSSL) and numpy both release the GIL, so on two cores decrypting a blob
    costs almost nothing on top of analysing it. Errors from the source (a corrupt blob) are
    raised here, in the consumer; closing this generator stops the thread and closes the source.
    """
    items: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        source = iter(chunks)
        batch: list[bytes] = []
        size = 0
        try:
            for chunk in source:  # small chunks are joined: one queue hop per ~1 MB
                batch.append(chunk)
                size += len(chunk)
                if size >= READ_AHEAD_BYTES:
                    if not put(("chunk", b"".join(batch) if len(batch) > 1 else batch[0])):
                        return
                    batch, size = [], 0
            if batch and not put(("chunk", b"".join(batch))):
                return
            put(("end", None))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(("error", exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="stl-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = items.get()
            if kind == "chunk":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        thread.join()


def _is_ascii(head: bytes) -> bool:
    """ASCII STL starts with "solid"; so do many binary ones, whose header or count holds NULs.

    A binary count below 2²⁴ always has a zero top byte at offset 83, and when the whole file
    is in `head` its length must also be 84 + 50·count.
    """
    if head.lstrip()[:5].lower() != b"solid":
        return False
    if b"\x00" in head:
        return False
    if len(head) < PEEK_BYTES and len(head) >= 84:
        count = int.from_bytes(head[80:84], "little")
        if count and len(head) == 84 + 50 * count:
            return False
    return True


def _read_binary(stream: _Stream, check_watertight: bool, sink: TriangleSink | None) -> _Totals:
    header = stream.read(84)
    if len(header) < 84:
        raise GeometryError("truncated", "shorter than the 84-byte STL header")
    declared = int.from_bytes(header[80:84], "little")
    totals = _Totals(check_watertight, declared or None)
    if sink is not None:
        sink.begin(declared or None)
    planes = np.empty((9, BLOCK_TRIANGLES), np.float32)
    raw = bytearray(BLOCK_TRIANGLES * 50)
    view = memoryview(raw)
    remaining = declared if declared else None
    while remaining is None or remaining > 0:
        want = BLOCK_TRIANGLES if remaining is None else min(BLOCK_TRIANGLES, remaining)
        got = stream.readinto(view[: want * 50])
        k = got // 50
        if got % 50:
            raise GeometryError("truncated", "the file ends inside a triangle record")
        if k:
            records = np.frombuffer(raw, _RECORD, count=k)
            block = planes[:, :k]
            np.copyto(block, records["v"].T)
            totals.add(block)
            if sink is not None:
                sink.add(block)
        if remaining is not None:
            remaining -= k
        if k < want:
            break
    if remaining:
        raise GeometryError(
            "truncated", f"the header declares {declared} triangles, the file holds {totals.count}"
        )
    extra = len(stream.read(50))
    if extra:
        raise GeometryError("malformed", "the size is not 84 + 50 × the declared triangle count")
    return totals


# ASCII fast path: normals (which we recompute anyway) are cut out with one regex, letters
# other than e/E and line breaks become spaces, then each "e" left standing alone from the
# keywords ("vertex" → " e  e ") is blanked; what remains is 9 numbers per facet for numpy's C
# parser. A count mismatch (odd layout, upper case, nan normals...) falls back to a strict regex.
_NORMAL_RE = re.compile(rb"normal[^\n]*")
_LETTERS = bytes(c for c in range(256) if chr(c).isalpha() and chr(c) not in "eE" and c < 128)
_TO_SPACE = bytes.maketrans(_LETTERS + b"\r\n\t\v\f", b" " * (len(_LETTERS) + 5))
_SOLID_WORDS = (b"olid", b"OLID")
_NUM = rb"(\S+)\s+(\S+)\s+(\S+)\s+"
_FACET_RE = re.compile(
    rb"facet\s+normal\s+\S+\s+\S+\s+\S+\s+outer\s+loop\s+"
    + rb"vertex\s+"
    + _NUM
    + rb"vertex\s+"
    + _NUM
    + rb"vertex\s+"
    + _NUM
    + rb"endloop\s+endfacet",
    re.IGNORECASE,
)


def _read_ascii(stream: _Stream, check_watertight: bool, sink: TriangleSink | None) -> _Totals:
    totals = _Totals(check_watertight, None)
    if sink is not None:
        sink.begin(None)
    pending = b""
    while True:
        piece = stream.read(ASCII_BLOCK_BYTES)
        pending += piece
        end = _last_facet_end(pending)
        if end > 0:
            block, pending = pending[:end], pending[end:]
            planes = _parse_ascii_block(block, first=totals.count == 0)
            totals.add(planes)
            if sink is not None:
                sink.add(planes)
        elif len(pending) > ASCII_MAX_FACET_BYTES:
            raise GeometryError("malformed", "no 'endfacet' in 16 MB of text")
        if not piece:
            break
    tail = _blank_solid_lines(pending, _SOLID_WORDS).strip()
    if tail:
        reason = "truncated" if b"facet" in tail.lower() else "malformed"
        raise GeometryError(reason, "text after the last complete facet")
    return totals


def _last_facet_end(text: bytes) -> int:
    end = max(text.rfind(b"endfacet"), text.rfind(b"ENDFACET"))
    if end < 0:
        end = text.lower().rfind(b"endfacet")
    return end + 8 if end >= 0 else 0


def _blank_solid_lines(block: bytes, words: tuple[bytes, ...] = (b"olid",)) -> bytes:
    """The "solid NAME" / "endsolid NAME" lines turned to spaces (names may hold digits).

    Mid-file only the lower/title case spelling is looked for (one scan); an upper-case one
    that slips through changes the number count and sends the block to the regex parser.
    """
    hits = [i for word in words for i in _find_all(block, word)]
    if not hits:
        return block
    text = bytearray(block)
    for i in hits:
        start = block.rfind(b"\n", 0, i) + 1
        end = block.find(b"\n", i)
        end = len(block) if end < 0 else end
        text[start:end] = b" " * (end - start)
    return bytes(text)


def _find_all(text: bytes, word: bytes) -> Iterator[int]:
    i = text.find(word)
    while i >= 0:
        yield i
        i = text.find(word, i + len(word))


def _parse_ascii_block(block: bytes, first: bool) -> np.ndarray:
    """(9, facets) float64 vertex planes of a run of complete facets."""
    block = _blank_solid_lines(block, _SOLID_WORDS if first else (b"olid",))
    facets = block.count(b"endfacet")  # other spellings fail the count check below
    text = _NORMAL_RE.sub(b"", block).translate(_TO_SPACE).replace(b" e ", b"   ")
    if b" E " in text:
        text = text.replace(b" E ", b"   ")
    try:
        numbers = np.fromstring(text, sep=" ")  # C parser; ValueError on any stray token
    except ValueError:
        numbers = None
    if numbers is not None and facets and numbers.size == 9 * facets:
        return np.ascontiguousarray(numbers.reshape(facets, 9).T)
    return _parse_ascii_block_slowly(block)


def _parse_ascii_block_slowly(block: bytes) -> np.ndarray:
    """Regex parse for odd spacing, upper case or non-numeric normals; strict about structure."""
    matches = _FACET_RE.findall(block)
    if len(matches) != len(re.findall(rb"endfacet", block, re.IGNORECASE)):
        raise GeometryError("malformed", "a facet is not 'normal, outer loop, 3 vertices'")
    try:
        values = np.array(matches, dtype=np.bytes_).astype(np.float64)
    except ValueError as exc:
        raise GeometryError("malformed", "a vertex coordinate is not a number") from exc
    return np.ascontiguousarray(values.T)


# --------------------------------------------------------------------------- STEP / IGES


def analyze_step(
    chunks: Iterable[bytes],
    kind: str = "step",
    timeout: float = 30.0,
    preview_limit: int = 200_000,
) -> PartGeometry:
    """Measure a STEP or IGES file with OpenCascade in a child process, killed after `timeout`.

    The bytes go into an anonymous in-memory file (memfd) given to the child as its stdin; the
    child opens /proc/self/fd/0, so no plaintext touches disk. A crash or hang in the CAD kernel
    costs the child, not the web worker.
    """
    if kind not in ("step", "iges"):
        raise ValueError(f"kind must be 'step' or 'iges', not {kind!r}")
    fd = os.memfd_create(f"drawing.{kind}", os.MFD_CLOEXEC)
    try:
        total = 0
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                written = os.write(fd, view)
                view = view[written:]
                total += written
        if total == 0:
            raise GeometryError("empty", "the file is empty")
        os.lseek(fd, 0, os.SEEK_SET)
        out = _run_worker(fd, kind, timeout, preview_limit)
    finally:
        os.close(fd)
    return _geometry_from_worker(out, kind)


def _run_worker(stdin_fd: int, kind: str, timeout: float, preview_limit: int) -> bytes:
    command = [
        sys.executable,
        "-I",
        str(STEP_WORKER),
        kind,
        str(preview_limit),
        str(STEP_MEMORY_LIMIT),
    ]
    proc = subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
        command,
        stdin=stdin_fd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, so a kill takes any helpers too
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise GeometryError("timeout", f"OpenCascade took longer than {timeout:g} s") from None
    except BaseException:
        _kill_group(proc)
        raise
    if proc.returncode != 0:
        raise GeometryError("unreadable", f"the CAD reader stopped (exit {proc.returncode})")
    return out


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def _geometry_from_worker(out: bytes, kind: str) -> PartGeometry:
    line, _, mesh = out.partition(b"\n")
    try:
        report = json.loads(line)
    except ValueError:
        raise GeometryError("unreadable", "the CAD reader gave no answer") from None
    if "error" in report:
        raise GeometryError(report["error"], report.get("message", ""))
    n = int(report["mesh_triangles"])
    triangles = np.frombuffer(mesh, np.float32, count=n * 9).reshape(n, 3, 3) if n else None
    lo, hi = tuple(report["bbox_min"]), tuple(report["bbox_max"])
    size = [b - a for a, b in zip(lo, hi, strict=True)]
    if report["volume"] <= 0 or min(size) <= 0:
        raise GeometryError("degenerate", "the model encloses no volume")
    return PartGeometry(
        format=kind,
        volume_mm3=float(report["volume"]),
        area_mm2=float(report["area"]),
        bbox_min=lo,  # type: ignore[arg-type]
        bbox_max=hi,  # type: ignore[arg-type]
        triangles=int(report["tessellated_triangles"]),
        faces=int(report["faces"]),
        solids=int(report["solids"]),
        watertight=bool(report["closed"]),
        units_hint=units_hint(size),
        preview_triangles=triangles,
    )
