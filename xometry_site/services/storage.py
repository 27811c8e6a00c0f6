"""Blob storage behind one interface: a local directory under instance/, or S3-compatible storage.

Storage only ever sees ciphertext (see vault.py) under random ids; names chosen by users never
reach it. A blob becomes visible only when its writer commits, atomically.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Protocol

from flask import Flask

BLOB_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
_TEMP_SUFFIX = ".tmp"
_EXTENSION = "blob_storage"
_lock = threading.Lock()


class StorageError(Exception):
    """Storage is misconfigured or an operation on a blob failed."""


class BlobNotFound(StorageError, FileNotFoundError):
    """No committed blob has this id."""


def new_blob_id() -> str:
    """A random 128-bit id: the only kind of name storage accepts."""
    return secrets.token_hex(16)


def check_blob_id(blob_id: str) -> str:
    """Refuse anything but our random ids, so a user's file name or `../` can never be a path."""
    if not isinstance(blob_id, str) or not BLOB_ID_PATTERN.match(blob_id):
        raise ValueError("blob ids are 32 lowercase hex characters")
    return blob_id


@dataclass(frozen=True)
class BlobInfo:
    """A committed blob as listed by storage."""

    blob_id: str
    size: int
    modified: datetime


class BlobReader(Protocol):
    """A readable, closable stream of a blob's bytes."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class BlobWriter(ABC):
    """Bytes go in with write(); nothing is visible until commit(); abort() leaves nothing behind.

    As a context manager it commits on a clean exit and aborts on an exception.
    """

    def __init__(self, blob_id: str) -> None:
        self.blob_id = check_blob_id(blob_id)
        self.size = 0
        self._state = "open"

    def write(self, data: bytes | bytearray | memoryview, /) -> int:
        """Append bytes to the pending blob."""
        if self._state != "open":
            raise StorageError(f"write to a {self._state} blob writer")
        size = len(data)
        self._write(data)
        self.size += size
        return size

    def commit(self) -> None:
        """Publish the blob under its id, durably and atomically."""
        if self._state != "open":
            raise StorageError(f"commit of a {self._state} blob writer")
        try:
            self._commit()
        except BaseException:
            self.abort()
            raise
        self._state = "committed"

    def abort(self) -> None:
        """Throw the pending bytes away; safe to call more than once."""
        if self._state != "open":
            return
        self._state = "aborted"
        self._abort()

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None and self._state == "open":
            self.commit()
        else:
            self.abort()

    @abstractmethod
    def _write(self, data: bytes | bytearray | memoryview) -> None: ...

    @abstractmethod
    def _commit(self) -> None: ...

    @abstractmethod
    def _abort(self) -> None: ...


class BlobStorage(ABC):
    """What the rest of the site may do with stored bytes."""

    @abstractmethod
    def check(self) -> None:
        """Raise when the storage cannot be used (for /healthz)."""

    @abstractmethod
    def writer(self, blob_id: str) -> BlobWriter:
        """A writer for a new blob; it appears only on commit()."""

    @abstractmethod
    def reader(self, blob_id: str) -> BlobReader:
        """Open a committed blob for reading; BlobNotFound if there is none."""

    @abstractmethod
    def delete(self, blob_id: str) -> None:
        """Remove a blob; deleting a missing blob is not an error (deletes are retried)."""

    @abstractmethod
    def exists(self, blob_id: str) -> bool:
        """Whether a committed blob has this id."""

    @abstractmethod
    def size(self, blob_id: str) -> int:
        """Stored size in bytes; BlobNotFound if there is none."""

    @abstractmethod
    def iter_blobs(self) -> Iterator[BlobInfo]:
        """Every committed blob with its size and time, for the sweeper."""

    @abstractmethod
    def purge_incomplete(self, older_than: timedelta, now: datetime | None = None) -> int:
        """Remove leftovers of writes that crashed before commit or abort; returns how many."""

    def iter_ids(self) -> Iterator[str]:
        """Ids of every committed blob."""
        for info in self.iter_blobs():
            yield info.blob_id


# --- local directory -----------------------------------------------------------------------------


class LocalStorage(BlobStorage):
    """Blobs as files `<root>/<id[:2]>/<id>`, directories 0700 and files 0600."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def check(self) -> None:
        """Raise StorageError unless the root is a directory this process may write to."""
        if not (self.root.is_dir() and os.access(self.root, os.W_OK | os.X_OK)):
            raise StorageError(f"{self.root} is not a writable directory")

    def path_for(self, blob_id: str) -> Path:
        """Where a committed blob lives."""
        check_blob_id(blob_id)
        return self.root / blob_id[:2] / blob_id

    def writer(self, blob_id: str) -> BlobWriter:
        return _LocalWriter(self, blob_id)

    def reader(self, blob_id: str) -> BinaryIO:
        try:
            return self.path_for(blob_id).open("rb")
        except FileNotFoundError:
            raise BlobNotFound(blob_id) from None

    def delete(self, blob_id: str) -> None:
        path = self.path_for(blob_id)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        _fsync_dir(path.parent)

    def exists(self, blob_id: str) -> bool:
        return self.path_for(blob_id).is_file()

    def size(self, blob_id: str) -> int:
        try:
            return self.path_for(blob_id).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(blob_id) from None

    def iter_blobs(self) -> Iterator[BlobInfo]:
        for shard in sorted(self.root.iterdir()):
            if not shard.is_dir() or len(shard.name) != 2:
                continue
            for entry in os.scandir(shard):
                if BLOB_ID_PATTERN.match(entry.name) and entry.is_file():
                    try:
                        info = entry.stat()
                    except FileNotFoundError:
                        continue
                    modified = datetime.fromtimestamp(info.st_mtime, UTC)
                    yield BlobInfo(entry.name, info.st_size, modified)

    def iter_temp_files(self) -> Iterator[Path]:
        """Temporary files of writes in progress or crashed."""
        for shard in self.root.iterdir():
            if shard.is_dir():
                yield from (p for p in shard.iterdir() if p.name.endswith(_TEMP_SUFFIX))

    def purge_incomplete(self, older_than: timedelta, now: datetime | None = None) -> int:
        cutoff = (now or datetime.now(UTC)) - older_than
        removed = 0
        for path in self.iter_temp_files():
            try:
                if datetime.fromtimestamp(path.stat().st_mtime, UTC) < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


class _LocalWriter(BlobWriter):
    """Temp file in the blob's own directory → fsync → os.replace → fsync the directory."""

    def __init__(self, storage: LocalStorage, blob_id: str) -> None:
        super().__init__(blob_id)
        self._final = storage.path_for(blob_id)
        shard = self._final.parent
        if not shard.is_dir():
            shard.mkdir(mode=0o700, exist_ok=True)
            _fsync_dir(storage.root)
        self.temp_path = shard / f".{blob_id}.{secrets.token_hex(6)}{_TEMP_SUFFIX}"
        fd = os.open(self.temp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file = os.fdopen(fd, "wb")

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        self._file.write(data)

    def _commit(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.temp_path, self._final)
        _fsync_dir(self._final.parent)

    def _abort(self) -> None:
        self._file.close()
        self.temp_path.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    """Make a rename or unlink durable by syncing the directory entry."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- S3-compatible object storage ----------------------------------------------------------------


def storage_from_config(app: Flask) -> BlobStorage:
    """Build the configured backend: STORAGE_BACKEND = "local" (default) or "s3"."""
    config = app.config
    backend = (config.get("STORAGE_BACKEND") or "local").lower()
    if backend == "local":
        root = config.get("STORAGE_LOCAL_ROOT") or os.path.join(app.instance_path, "blobs")
        return LocalStorage(root)
    if backend == "s3":
        from .s3_storage import S3Deadlines, S3Storage  # boto3 only where S3 is configured

        return S3Storage(
            bucket=config.get("S3_BUCKET") or "",
            prefix=config.get("S3_PREFIX") or "",
            endpoint_url=config.get("S3_ENDPOINT_URL"),
            region=config.get("S3_REGION"),
            access_key=config.get("S3_ACCESS_KEY_ID"),
            secret_key=config.get("S3_SECRET_ACCESS_KEY"),
            addressing_style=config.get("S3_ADDRESSING_STYLE") or "auto",
            deadlines=S3Deadlines(
                connect_timeout=float(config.get("S3_CONNECT_TIMEOUT") or 1),
                read_timeout=float(config.get("S3_READ_TIMEOUT") or 5),
                max_attempts=int(config.get("S3_MAX_ATTEMPTS") or 2),
            ),
        )
    raise StorageError(f"unknown STORAGE_BACKEND {backend!r} (use 'local' or 's3')")


def get_storage(app: Flask) -> BlobStorage:
    """The app's storage backend, built once and kept in app.extensions."""
    with _lock:
        storage: BlobStorage | None = app.extensions.get(_EXTENSION)
        if storage is None:
            storage = storage_from_config(app)
            app.extensions[_EXTENSION] = storage
        return storage
