"""Drawings arrive as a multipart body that we parse ourselves, straight into encrypted storage.

Werkzeug's form parser spools files over 500 KB to a plaintext temporary file; a drawing must
never touch disk unencrypted, so the upload view hands `request.stream` to `UploadReceiver`, which
feeds each file part to an `EncryptedBlobWriter` chunk by chunk (memory ≈ one read + one segment).
Size, count, type and leading bytes are checked while the bytes go past; on any refusal or fault
every blob of the request is aborted or destroyed before the exception reaches the caller, so a
refused request leaves nothing behind, and nothing more of its body is read: the rest is the
server's to drop (see the upload view). The row that refers to the blobs is committed only after
they are durable (see vault.py); a crash between the two leaves orphans for `sweep_orphans`.
"""

from __future__ import annotations

import logging
import queue
import threading
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO

from streaming_form_data import StreamingFormDataParser
from streaming_form_data.parser import ParseFailedException
from streaming_form_data.targets import BaseTarget
from werkzeug.exceptions import ClientDisconnected

from ..keyring import KeyRing
from ..storage import BlobStorage
from ..vault import EncryptedBlobWriter, StoredBlob, destroy
from .file_types import FORMATS, check_signature, early_verdict, extension_of

log = logging.getLogger(__name__)

READ_SIZE = 256 * 1024  # bytes per read of the request body
READ_AHEAD = 4  # chunks a helper thread may read ahead while we parse and encrypt (1 MB)
HEAD_SIZE = 4096  # leading bytes kept per file for the signature check
FILE_FIELD = "files"
# "filename": the name a Mini Program upload was chosen under (wx.uploadFile sends a temporary one)
TEXT_FIELDS = ("csrf_token", "process", "material", "finish", "quantity", "notes", "filename")


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


def renamed(received: ReceivedFile, raw_name: str | None) -> ReceivedFile:
    """The file under the name its sender gave apart from the part's own (wx.uploadFile sends a
    temporary name); kept only when it names the same kind of file, so every check still holds."""
    name = clean_filename(raw_name)
    if not name or extension_of(name) != received.extension:
        return received
    return replace(received, filename=name)


# --- the streaming receiver ----------------------------------------------------------------


class _Receiver:
    """State of one request: open writer, finished files, fields; cleans up on failure.

    Until the gate opens, the first file part is not begun: its events (and everything after
    them in the same chunk) are held in memory, at most one read, and replayed once it opens.
    """

    def __init__(self, storage: BlobStorage, ring: KeyRing, limits: UploadLimits) -> None:
        self.storage = storage
        self.ring = ring
        self.limits = limits
        self.result = ReceivedUpload()
        self.parts = 0
        self.form_bytes = 0
        self.files_started = 0
        self.gate_open = False
        self.held: list[tuple[Callable[..., None], tuple[Any, ...]]] | None = None
        self.writer: EncryptedBlobWriter | None = None
        self.current_name = ""
        self.current_ext = ""
        self.current_size = 0
        self.head = bytearray()
        self.head_checked = False
        self.skipping = False  # a file input left empty by the browser
        self.field_value = bytearray()

    def event(self, method: Callable[..., None], *args: Any) -> None:
        """Run a parser event now, or keep it for the gate when the first file is waiting."""
        if self.held is not None:
            self.held.append((method, args))
        else:
            method(*args)

    def open_gate(self) -> None:
        """The caller accepted the fields: begin the held file and what followed it."""
        self.gate_open = True
        held, self.held = self.held or [], None
        for method, args in held:
            method(*args)

    # parts
    def count_part(self) -> None:
        self.parts += 1
        if self.parts > self.limits.max_parts:
            raise UploadTooLarge("too_many_parts", limit=self.limits.max_parts)

    def count_form_bytes(self, n: int) -> None:
        self.form_bytes += n
        if self.form_bytes > self.limits.max_form_memory:
            raise UploadTooLarge("form_too_large", limit=self.limits.max_form_memory)

    # text fields
    def field_started(self) -> None:
        self.count_part()
        self.field_value = bytearray()

    def field_data(self, chunk: bytes) -> None:
        self.count_form_bytes(len(chunk))
        self.field_value += chunk

    def field_finished(self, name: str) -> None:
        if not name:  # unknown parts are counted and dropped
            return
        if self.gate_open:  # the fields were checked when the first file began
            raise UploadRefused("malformed")
        self.result.fields[name] = self.field_value.decode("utf-8", "replace")

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
        if not self.gate_open:
            self.held = [(self.file_begun, (ext,))]
            return
        self.file_begun(ext)

    def file_begun(self, ext: str) -> None:
        self.files_started += 1
        if self.files_started > self.limits.max_files:
            raise UploadRefused("too_many_files", self.current_name, limit=self.limits.max_files)
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
        self._receiver.event(self._receiver.file_started, self.multipart_filename)

    def on_data_received(self, chunk: bytes) -> None:
        self._receiver.event(self._receiver.file_data, chunk)

    def on_finish(self) -> None:
        self._receiver.event(self._receiver.file_finished)


class _FieldTarget(BaseTarget):
    """A small text field, decoded as UTF-8; counted against the form-memory limit."""

    def __init__(self, receiver: _Receiver, name: str) -> None:
        super().__init__()
        self._receiver = receiver
        self._name = name

    def on_start(self) -> None:
        self._receiver.event(self._receiver.field_started)

    def on_data_received(self, chunk: bytes) -> None:
        self._receiver.event(self._receiver.field_data, chunk)

    def on_finish(self) -> None:
        self._receiver.event(self._receiver.field_finished, self._name)


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


class UploadReceiver:
    """One multipart/form-data body, read in two steps so no drawing is stored unchecked.

    `read_fields()` reads up to the first file part (or the end) and returns the text fields
    received so far (CSRF token, choices); the caller checks them and, only if they are right,
    calls `read_files()`, which stores each file encrypted as it streams past. Used as a context
    manager it is the one place that cleans up: an exception inside the block (a refusal, a
    failed commit of the rows) destroys every blob of the request before it propagates, and on
    leaving nothing reads `stream` any more; `body_read` then says whether it was read to its end.
    """

    def __init__(
        self,
        stream: BinaryIO,
        headers: Mapping[str, str],
        storage: BlobStorage,
        ring: KeyRing,
        limits: UploadLimits,
        read_size: int = READ_SIZE,
        read_ahead: bool = True,
    ) -> None:
        self._receiver = _Receiver(storage, ring, limits)
        self._stream = stream
        self._read_size = read_size
        self._source = _ReadAhead(stream, read_size) if read_ahead else None
        self._ended = False
        self._tail = b""
        try:
            self._parser = StreamingFormDataParser(headers=dict(headers))
            self._ender = b"\r\n--" + _boundary(headers) + b"--"
        except (ParseFailedException, UnicodeError):
            self.close()
            raise UploadRefused("not_multipart") from None
        self._parser.register(FILE_FIELD, _FileTarget(self._receiver))
        for name in TEXT_FIELDS:
            self._parser.register(name, _FieldTarget(self._receiver, name))
        catch_all = _FieldTarget(self._receiver, "")
        self._parser.register("*", catch_all, matches=lambda _registered, _name: True)

    def __enter__(self) -> UploadReceiver:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, _tb: Any) -> None:
        if exc is not None:
            self.discard()
        self.close()

    def read_fields(self) -> dict[str, str]:
        """The text fields sent before the first file (all of them when there is none)."""
        self._pump(until_first_file=True)
        return dict(self._receiver.result.fields)

    def read_files(self) -> ReceivedUpload:
        """The rest of the body, each file encrypted into storage; call after `read_fields`."""
        try:
            self._receiver.open_gate()
        except BaseException as exc:
            self._refused(exc)
            raise
        self._pump(until_first_file=False)
        return self._receiver.result

    def discard(self) -> None:
        """Destroy every blob of this request (the files read so far and the one being read)."""
        self._receiver.discard()

    @property
    def body_read(self) -> bool:
        """Whether the body was read to its end: a refusal leaves the rest unread."""
        return self._ended

    def kept(self) -> None:
        """The rows that refer to the blobs are committed: the blobs are theirs, not ours to destroy."""
        self._receiver.result = ReceivedUpload(fields=dict(self._receiver.result.fields))

    def close(self) -> None:
        """Stop the read-ahead thread: the stream is the caller's again."""
        if self._source is not None:
            self._source.close()
            self._source = None

    def _pump(self, until_first_file: bool) -> None:
        receiver = self._receiver
        try:
            while not self._ended:
                if until_first_file and receiver.held is not None:
                    return
                try:
                    chunk = (
                        self._source.read() if self._source else self._stream.read(self._read_size)
                    )
                except (ClientDisconnected, OSError):
                    raise UploadInterrupted("interrupted") from None
                if not chunk:
                    self._ended = True
                    break
                keep = len(self._ender) + 64
                self._tail = (self._tail + chunk[-keep:])[-keep:]
                try:
                    self._parser.data_received(chunk)
                except ParseFailedException:
                    raise UploadRefused("malformed") from None
                except UnicodeError:  # a file or field name that is not UTF-8
                    raise UploadRefused("bad_encoding") from None
            if receiver.writer is not None or self._ender not in self._tail:
                raise UploadInterrupted("interrupted")
        except BaseException as exc:
            self._refused(exc)
            raise

    def _refused(self, exc: BaseException) -> None:
        self.discard()
        if isinstance(exc, UploadRefused):
            exc.fields = dict(self._receiver.result.fields)


def receive_upload(
    stream: BinaryIO,
    headers: Mapping[str, str],
    storage: BlobStorage,
    ring: KeyRing,
    limits: UploadLimits,
    read_size: int = READ_SIZE,
    read_ahead: bool = True,
) -> ReceivedUpload:
    """Parse a whole multipart/form-data body into text fields and encrypted drawings, with no
    check between the fields and the files (tools and tests; the upload view checks them)."""
    with UploadReceiver(stream, headers, storage, ring, limits, read_size, read_ahead) as upload:
        upload.read_fields()
        return upload.read_files()


def _boundary(headers: Mapping[str, str]) -> bytes:
    from streaming_form_data.parser import parse_content_boundary

    return parse_content_boundary(dict(headers))
