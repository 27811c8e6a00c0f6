"""STL, binary or ASCII, parsed from decrypted chunks in fixed-size blocks so memory stays constant."""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from .geometry import GeometryError, PartGeometry, TriangleSink
from .mesh_totals import Totals

BLOCK_TRIANGLES = 16_384  # binary records per numpy block: fits in L2, amortises numpy calls
ASCII_BLOCK_BYTES = 4 << 20  # text per parse call
ASCII_MAX_FACET_BYTES = 16 << 20  # more text than this without an "endfacet" is not an STL
READ_AHEAD_BYTES = 1 << 20  # background reads are handed over in pieces of at least this
PEEK_BYTES = 4096  # enough to tell ASCII from binary STL
_RECORD = np.dtype([("normal", "<f4", (3,)), ("v", "<f4", (9,)), ("attr", "<u2")])
assert _RECORD.itemsize == 50  # noqa: S101 - the STL record layout is a fixed contract


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


def _read_binary(stream: _Stream, check_watertight: bool, sink: TriangleSink | None) -> Totals:
    header = stream.read(84)
    if len(header) < 84:
        raise GeometryError("truncated", "shorter than the 84-byte STL header")
    declared = int.from_bytes(header[80:84], "little")
    totals = Totals(check_watertight, declared or None)
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


def _read_ascii(stream: _Stream, check_watertight: bool, sink: TriangleSink | None) -> Totals:
    totals = Totals(check_watertight, None)
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
