"""Drawings arrive as a multipart body that we parse ourselves, straight into encrypted storage.

Werkzeug's form parser spools files over 500 KB to a plaintext temporary file; a drawing must
never touch disk unencrypted, so the upload view hands `request.stream` to `receive_upload`, which
feeds each file part to an `EncryptedBlobWriter` chunk by chunk (memory ≈ one read + one segment).
Size, count, type and leading bytes are checked while the bytes go past; on any refusal or fault
every blob of the request is aborted or destroyed before the exception reaches the caller, so a
refused request leaves nothing behind. The row that refers to the blobs is committed only after
they are durable (see vault.py); a crash between the two leaves orphans for `sweep_orphans`.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

from streaming_form_data import StreamingFormDataParser
from streaming_form_data.parser import ParseFailedException
from streaming_form_data.targets import BaseTarget
from werkzeug.exceptions import ClientDisconnected

from ..keyring import KeyRing
from ..storage import BlobStorage
from ..vault import EncryptedBlobWriter, StoredBlob, destroy

log = logging.getLogger(__name__)

READ_SIZE = 256 * 1024  # bytes per read of the request body
READ_AHEAD = 4  # chunks a helper thread may read ahead while we parse and encrypt (1 MB)
HEAD_SIZE = 4096  # leading bytes kept per file for the signature check
FILE_FIELD = "files"
TEXT_FIELDS = ("csrf_token", "process", "material", "finish", "quantity", "notes")

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


class UploadRefused(Exception):
    """The request is refused and nothing of it was kept; `code` names the reason for the UI."""

    status = 400

    def __init__(self, code: str, filename: str | None = None, limit: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.filename = filename
        self.limit = limit
        self.fields: dict[str, str] = {}  # text fields received before the refusal


class UploadTooLarge(UploadRefused):
    """A file, the text fields or the number of parts is over a limit (HTTP 413)."""

    status = 413


class UploadInterrupted(UploadRefused):
    """The body ended before its closing boundary (client went away, proxy cut it)."""


@dataclass(frozen=True)
class UploadLimits:
    """What one request may carry (from UPLOAD_MAX_FILE_SIZE, UPLOAD_MAX_FILES, MAX_FORM_*)."""

    max_file_size: int
    max_files: int
    max_form_memory: int = 512 * 1024
    max_parts: int = 200


@dataclass(frozen=True)
class ReceivedFile:
    """A drawing that is durable in storage, encrypted; its row is not written yet."""

    filename: str
    extension: str
    stored: StoredBlob


@dataclass
class ReceivedUpload:
    """Text fields (str) and the files stored for one request."""

    fields: dict[str, str] = field(default_factory=dict)
    files: list[ReceivedFile] = field(default_factory=list)


def clean_filename(raw: str | None) -> str:
    """The user's file name as display metadata: last path component, no control characters."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    if len(name) > 200:  # keep the extension when shortening
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:200]
    return name


def extension_of(filename: str) -> str:
    """Lower-case extension without the dot ("x_t", "step"), "" if none."""
    _, dot, ext = filename.rpartition(".")
    return ext.lower() if dot and _ else ""


# --- leading bytes ---------------------------------------------------------------------------

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


# --- the streaming receiver ----------------------------------------------------------------


class _Receiver:
    """State of one request: open writer, finished files, fields; cleans up on failure."""

    def __init__(
        self,
        storage: BlobStorage,
        ring: KeyRing,
        limits: UploadLimits,
        before_first_file: Callable[[dict[str, str]], None] | None,
    ) -> None:
        self.storage = storage
        self.ring = ring
        self.limits = limits
        self.before_first_file = before_first_file
        self.result = ReceivedUpload()
        self.parts = 0
        self.form_bytes = 0
        self.files_started = 0
        self.writer: EncryptedBlobWriter | None = None
        self.current_name = ""
        self.current_ext = ""
        self.current_size = 0
        self.head = bytearray()
        self.head_checked = False
        self.skipping = False  # a file input left empty by the browser

    # parts
    def count_part(self) -> None:
        self.parts += 1
        if self.parts > self.limits.max_parts:
            raise UploadTooLarge("too_many_parts", limit=self.limits.max_parts)

    def count_form_bytes(self, n: int) -> None:
        self.form_bytes += n
        if self.form_bytes > self.limits.max_form_memory:
            raise UploadTooLarge("form_too_large", limit=self.limits.max_form_memory)

    # files
    def file_started(self, raw_name: str | None) -> None:
        self.count_part()
        name = clean_filename(raw_name)
        self.current_name, self.current_size = name, 0
        self.head, self.head_checked = bytearray(), False
        if not name:  # <input type=file> with nothing chosen still sends an empty part
            self.skipping = True
            return
        self.skipping = False
        ext = extension_of(name)
        if ext not in FORMATS:
            raise UploadRefused("bad_extension", name)
        if self.files_started == 0 and self.before_first_file is not None:
            self.before_first_file(dict(self.result.fields))
        self.files_started += 1
        if self.files_started > self.limits.max_files:
            raise UploadRefused("too_many_files", name, limit=self.limits.max_files)
        self.current_ext = ext
        self.writer = EncryptedBlobWriter(self.storage, self.ring)

    def file_data(self, chunk: bytes) -> None:
        if self.skipping:
            if chunk:
                raise UploadRefused("no_filename")
            return
        assert self.writer is not None  # noqa: S101 - the parser calls start() first
        self.current_size += len(chunk)
        if self.current_size > self.limits.max_file_size:
            raise UploadTooLarge("file_too_large", self.current_name, self.limits.max_file_size)
        if len(self.head) < HEAD_SIZE:
            self.head += chunk[: HEAD_SIZE - len(self.head)]
            if len(self.head) >= HEAD_SIZE and not self.head_checked:
                self.head_checked = True
                if early_verdict(FORMATS[self.current_ext], bytes(self.head)) is False:
                    raise UploadRefused("bad_content", self.current_name)
        self.writer.write(chunk)

    def file_finished(self) -> None:
        if self.skipping:
            self.skipping = False
            return
        writer, self.writer = self.writer, None
        assert writer is not None  # noqa: S101
        try:
            if self.current_size == 0:
                raise UploadRefused("empty_file", self.current_name)
            fmt = FORMATS[self.current_ext]
            if not check_signature(fmt, bytes(self.head), self.current_size):
                raise UploadRefused("bad_content", self.current_name)
            stored = writer.finish()
        except BaseException:
            writer.abort()
            raise
        self.result.files.append(ReceivedFile(self.current_name, self.current_ext, stored))

    # clean-up
    def discard(self) -> None:
        """Abort the open writer and destroy every blob this request committed."""
        if self.writer is not None:
            self.writer.abort()
            self.writer = None
        for received in self.result.files:
            try:
                destroy(self.storage, received.stored.blob_id)
            except Exception:  # the sweeper removes what we could not
                log.exception("upload.cleanup_failed")
        self.result.files = []


class _FileTarget(BaseTarget):
    """Every `files` part goes through here; start() is called once per file."""

    def __init__(self, receiver: _Receiver) -> None:
        super().__init__()
        self._receiver = receiver

    def on_start(self) -> None:
        self._receiver.file_started(self.multipart_filename)

    def on_data_received(self, chunk: bytes) -> None:
        self._receiver.file_data(chunk)

    def on_finish(self) -> None:
        self._receiver.file_finished()


class _FieldTarget(BaseTarget):
    """A small text field, decoded as UTF-8; counted against the form-memory limit."""

    def __init__(self, receiver: _Receiver, name: str) -> None:
        super().__init__()
        self._receiver = receiver
        self._name = name
        self._value = bytearray()

    def on_start(self) -> None:
        self._receiver.count_part()
        self._value = bytearray()

    def on_data_received(self, chunk: bytes) -> None:
        self._receiver.count_form_bytes(len(chunk))
        self._value += chunk

    def on_finish(self) -> None:
        if self._name:  # unknown parts are counted and dropped
            self._receiver.result.fields[self._name] = self._value.decode("utf-8", "replace")


class _ReadAhead:
    """Reads the body in a helper thread while the caller parses, hashes and encrypts.

    The network wait and the CPU work then overlap instead of adding up; memory stays bounded
    by the queue (READ_AHEAD chunks). Errors of the stream reach the caller on its next read.
    """

    def __init__(self, stream: BinaryIO, read_size: int, depth: int = READ_AHEAD) -> None:
        self._stream = stream
        self._read_size = read_size
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="upload-read-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                chunk = self._stream.read(self._read_size)
                self._put(chunk)
                if not chunk:
                    return
        except BaseException as exc:
            self._put(exc)

    def _put(self, item: bytes | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def read(self, _size: int = -1) -> bytes:
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        """Stop reading ahead; the stream is the caller's again once this returns."""
        self._stop.set()
        self._thread.join()


def receive_upload(
    stream: BinaryIO,
    headers: Mapping[str, str],
    storage: BlobStorage,
    ring: KeyRing,
    limits: UploadLimits,
    before_first_file: Callable[[dict[str, str]], None] | None = None,
    read_size: int = READ_SIZE,
    read_ahead: bool = True,
) -> ReceivedUpload:
    """Parse a multipart/form-data body into text fields and encrypted drawings.

    `before_first_file(fields)` runs when the first file part begins, with the text fields
    received so far (CSRF token, choices): raising there refuses the request before one byte of
    a drawing is stored. Anything raised — UploadRefused, UploadTooLarge, UploadInterrupted, or
    the callback's own exception — leaves no blob behind. When it returns or raises, nothing
    reads `stream` any more (the caller may drain it).
    """
    receiver = _Receiver(storage, ring, limits, before_first_file)
    try:
        parser = StreamingFormDataParser(headers=dict(headers))
    except ParseFailedException:
        raise UploadRefused("not_multipart") from None
    parser.register(FILE_FIELD, _FileTarget(receiver))
    for name in TEXT_FIELDS:
        parser.register(name, _FieldTarget(receiver, name))
    parser.register("*", _FieldTarget(receiver, ""), matches=lambda _registered, _name: True)
    ender = b"\r\n--" + _boundary(headers) + b"--"
    keep = len(ender) + 64
    tail = b""
    source = _ReadAhead(stream, read_size) if read_ahead else None
    try:
        while True:
            try:
                chunk = source.read() if source else stream.read(read_size)
            except (ClientDisconnected, OSError):
                raise UploadInterrupted("interrupted") from None
            if not chunk:
                break
            tail = (tail + chunk[-keep:])[-keep:]
            try:
                parser.data_received(chunk)
            except ParseFailedException:
                raise UploadRefused("malformed") from None
        if receiver.writer is not None or ender not in tail:
            raise UploadInterrupted("interrupted")
        if receiver.files_started == 0 and before_first_file is not None:
            before_first_file(dict(receiver.result.fields))
    except BaseException as exc:
        receiver.discard()
        if isinstance(exc, UploadRefused):
            exc.fields = dict(receiver.result.fields)
        raise
    finally:
        if source is not None:
            source.close()
    return receiver.result


def _boundary(headers: Mapping[str, str]) -> bytes:
    from streaming_form_data.parser import parse_content_boundary

    return parse_content_boundary(dict(headers))


def drain(stream: BinaryIO, limit: int, read_size: int = READ_SIZE) -> None:
    """Read and drop up to `limit` more bytes so the client sees our answer, not a reset."""
    remaining = limit
    try:
        while remaining > 0:
            chunk = stream.read(min(read_size, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
    except (ClientDisconnected, OSError):
        return
