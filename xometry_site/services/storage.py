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
from typing import Any, BinaryIO, Protocol

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

S3_PART_SIZE = 8 * 1024 * 1024  # S3 needs ≥ 5 MiB per part except the last; memory per upload


class S3Storage(BlobStorage):
    """Blobs as objects `<prefix><id[:2]>/<id>` in one bucket (AWS, Aliyun OSS, MinIO, …)."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        addressing_style: str = "auto",
        part_size: int = S3_PART_SIZE,
        client: Any = None,
        deadlines: S3Deadlines | None = None,
    ) -> None:
        if not bucket:
            raise StorageError("S3_BUCKET is not set")
        if part_size < 5 * 1024 * 1024:
            raise StorageError("S3 parts must be at least 5 MiB")
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self.part_size = part_size
        self.client = client or _make_s3_client(
            endpoint_url, region, access_key, secret_key, addressing_style, deadlines
        )

    def check(self) -> None:
        """Raise unless the bucket answers (HEAD; within the client's deadlines)."""
        self.client.head_bucket(Bucket=self.bucket)

    def key_for(self, blob_id: str) -> str:
        """The object key of a blob."""
        check_blob_id(blob_id)
        return f"{self.prefix}{blob_id[:2]}/{blob_id}"

    def writer(self, blob_id: str) -> BlobWriter:
        return _S3Writer(self, blob_id)

    def reader(self, blob_id: str) -> BlobReader:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.key_for(blob_id))
        except self.client.exceptions.NoSuchKey:
            raise BlobNotFound(blob_id) from None
        return answer["Body"]

    def delete(self, blob_id: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key_for(blob_id))

    def _head(self, blob_id: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key_for(blob_id))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise

    def exists(self, blob_id: str) -> bool:
        return self._head(blob_id) is not None

    def size(self, blob_id: str) -> int:
        head = self._head(blob_id)
        if head is None:
            raise BlobNotFound(blob_id)
        return int(head["ContentLength"])

    def iter_blobs(self) -> Iterator[BlobInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                name = item["Key"][len(self.prefix) :]
                shard, _, blob_id = name.partition("/")
                if BLOB_ID_PATTERN.match(blob_id) and shard == blob_id[:2]:
                    yield BlobInfo(blob_id, int(item["Size"]), _aware(item["LastModified"]))

    def iter_incomplete(self) -> Iterator[tuple[str, str, datetime]]:
        """(key, upload id, started) of multipart uploads never completed nor aborted."""
        paginator = self.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for upload in page.get("Uploads", []):
                yield upload["Key"], upload["UploadId"], _aware(upload["Initiated"])

    def purge_incomplete(self, older_than: timedelta, now: datetime | None = None) -> int:
        cutoff = (now or datetime.now(UTC)) - older_than
        removed = 0
        for key, upload_id, started in list(self.iter_incomplete()):
            if started < cutoff:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
                removed += 1
        return removed


class _S3Writer(BlobWriter):
    """One PUT for small blobs; a multipart upload once a part's worth of bytes is buffered."""

    def __init__(self, storage: S3Storage, blob_id: str) -> None:
        super().__init__(blob_id)
        self._storage = storage
        self._client = storage.client
        self._key = storage.key_for(blob_id)
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        self._buffer += data
        while len(self._buffer) > self._storage.part_size:
            self._send_part(self._storage.part_size)

    def _send_part(self, size: int) -> None:
        if self._upload_id is None:
            answer = self._client.create_multipart_upload(
                Bucket=self._storage.bucket,
                Key=self._key,
                ContentType="application/octet-stream",
            )
            self._upload_id = answer["UploadId"]
        number = len(self._parts) + 1
        answer = self._client.upload_part(
            Bucket=self._storage.bucket,
            Key=self._key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=self._take(size),
        )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def _take(self, size: int) -> bytearray:
        """Hand over the first `size` buffered bytes, copying only the small remainder."""
        body = self._buffer
        self._buffer = bytearray(body[size:])
        del body[size:]
        return body

    def _commit(self) -> None:
        if self._upload_id is None:
            self._client.put_object(
                Bucket=self._storage.bucket,
                Key=self._key,
                Body=self._take(len(self._buffer)),
                ContentType="application/octet-stream",
            )
        else:
            self._send_part(len(self._buffer))
            self._client.complete_multipart_upload(
                Bucket=self._storage.bucket,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
        self._buffer.clear()

    def _abort(self) -> None:
        self._buffer.clear()
        if self._upload_id is not None:
            self._client.abort_multipart_upload(
                Bucket=self._storage.bucket, Key=self._key, UploadId=self._upload_id
            )


def _aware(moment: datetime) -> datetime:
    """S3 times as aware UTC (some servers send naive or local-zone values)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


@dataclass(frozen=True)
class S3Deadlines:
    """How long one S3 call may wait: to connect, for each socket read, and how many attempts in
    all (the first included; botocore's standard mode backs off between them)."""

    connect_timeout: float = 1.0
    read_timeout: float = 5.0
    max_attempts: int = 2


def _make_s3_client(
    endpoint_url: str | None,
    region: str | None,
    access_key: str | None,
    secret_key: str | None,
    addressing_style: str,
    deadlines: S3Deadlines | None = None,
) -> Any:
    """A boto3 S3 client that also speaks to Aliyun OSS and MinIO."""
    import boto3
    from botocore.config import Config as BotoConfig

    deadlines = deadlines or S3Deadlines()
    config = BotoConfig(
        signature_version="s3v4",
        s3={"addressing_style": addressing_style},
        connect_timeout=deadlines.connect_timeout,
        read_timeout=deadlines.read_timeout,
        retries={"max_attempts": deadlines.max_attempts, "mode": "standard"},
        # Newer botocore adds CRC checksums that several S3-compatible stores reject.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=region or None,
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
        config=config,
    )


def storage_from_config(app: Flask) -> BlobStorage:
    """Build the configured backend: STORAGE_BACKEND = "local" (default) or "s3"."""
    config = app.config
    backend = (config.get("STORAGE_BACKEND") or "local").lower()
    if backend == "local":
        root = config.get("STORAGE_LOCAL_ROOT") or os.path.join(app.instance_path, "blobs")
        return LocalStorage(root)
    if backend == "s3":
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
