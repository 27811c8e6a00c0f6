"""Encrypted blobs: a fresh data key per file, sealed in segments, wrapped by the key ring.

The order that keeps files and rows consistent (SECURITY.md, Durability):
  write: EncryptedBlobWriter.finish() (blob durable) → store StoredBlob fields in a row → commit.
  delete: drop the row (and so the wrapped key: crypto-shredding) → commit → destroy() the blob.
  sweep: sweep_orphans() removes blobs without a row once they are older than a grace period.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType

from xometry_site.services.crypto import (
    DEFAULT_SEGMENT_SIZE,
    EncryptingWriter,
    decrypt_stream,
    new_dek,
    unwrap_dek,
    wrap_dek,
)
from xometry_site.services.keyring import KeyRing
from xometry_site.services.storage import BlobReader, BlobStorage, new_blob_id

DEFAULT_GRACE = timedelta(hours=6)  # longer than any upload or job that writes before its commit


@dataclass(frozen=True)
class StoredBlob:
    """What a row must keep to read the blob back: id, key id, wrapped data key, plaintext facts."""

    blob_id: str
    kid: str
    wrapped_dek: bytes
    size: int
    sha256: str


class EncryptedBlobWriter:
    """Encrypt plaintext chunks straight into storage; memory stays at about one segment."""

    def __init__(
        self,
        storage: BlobStorage,
        ring: KeyRing,
        segment_size: int = DEFAULT_SEGMENT_SIZE,
    ) -> None:
        self.blob_id = new_blob_id()
        dek = new_dek()
        self._kid, self._wrapped = wrap_dek(ring, dek)
        self._sink = storage.writer(self.blob_id)
        self._digest = hashlib.sha256()
        self._done = False
        try:
            self._encrypter = EncryptingWriter(self._sink, dek, segment_size)
        except BaseException:
            self._sink.abort()
            raise

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Encrypt and store the next piece of the file."""
        if self._done:
            raise ValueError("write to a finished EncryptedBlobWriter")
        try:
            self._digest.update(data)
            return self._encrypter.write(data)
        except BaseException:
            self.abort()
            raise

    def finish(self) -> StoredBlob:
        """Seal the last segment and publish the blob durably; the caller then commits its row."""
        if self._done:
            raise ValueError("EncryptedBlobWriter already finished")
        try:
            self._encrypter.close()
            self._sink.commit()
        except BaseException:
            self.abort()
            raise
        self._done = True
        return StoredBlob(
            blob_id=self.blob_id,
            kid=self._kid,
            wrapped_dek=self._wrapped,
            size=self._encrypter.plaintext_size,
            sha256=self._digest.hexdigest(),
        )

    def abort(self) -> None:
        """Leave nothing behind (an upload was refused or failed)."""
        if self._done:
            return
        self._done = True
        self._sink.abort()

    def __enter__(self) -> EncryptedBlobWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None or not self._done:
            self.abort()


def store_encrypted(
    storage: BlobStorage,
    ring: KeyRing,
    chunks: Iterable[bytes],
    segment_size: int = DEFAULT_SEGMENT_SIZE,
) -> StoredBlob:
    """Encrypt an iterable of chunks (a stream, a generated export) into a new blob."""
    writer = EncryptedBlobWriter(storage, ring, segment_size)
    with writer:
        for chunk in chunks:
            writer.write(chunk)
        return writer.finish()


def open_decrypted(
    storage: BlobStorage, ring: KeyRing, blob_id: str, kid: str, wrapped_dek: bytes
) -> Iterator[bytes]:
    """Plaintext chunks of a blob; the key and the first segment are checked before returning.

    So a missing blob (BlobNotFound), a retired key (UnknownKey) or a broken start (CorruptBlob)
    raise here, before a response has begun; a later defect raises CorruptBlob mid-stream.
    """
    dek = unwrap_dek(ring, kid, wrapped_dek)
    reader = storage.reader(blob_id)
    try:
        chunks = decrypt_stream(reader, dek)
        first = next(chunks, None)
    except BaseException:
        reader.close()
        raise
    return _closing(itertools.chain([] if first is None else [first], chunks), reader)


def _closing(chunks: Iterator[bytes], reader: BlobReader) -> Iterator[bytes]:
    """Yield the chunks, closing the storage stream however iteration ends."""
    try:
        yield from chunks
    finally:
        reader.close()


def destroy(storage: BlobStorage, blob_id: str) -> None:
    """Delete the ciphertext; call after the row with its wrapped key is gone and committed."""
    storage.delete(blob_id)


def sweep_orphans(
    storage: BlobStorage,
    known_ids: Container[str],
    older_than: timedelta = DEFAULT_GRACE,
    now: datetime | None = None,
) -> list[str]:
    """Delete blobs no row refers to, sparing young ones (an upload may not have committed yet).

    Also removes leftovers of crashed writes older than the grace period. Returns removed ids.
    """
    moment = now or datetime.now(UTC)
    cutoff = moment - older_than
    removed: list[str] = []
    for info in list(storage.iter_blobs()):
        if info.blob_id not in known_ids and info.modified < cutoff:
            storage.delete(info.blob_id)
            removed.append(info.blob_id)
    storage.purge_incomplete(older_than, now=moment)
    return removed


def find_missing(storage: BlobStorage, blob_ids: Iterable[str]) -> list[str]:
    """Ids that rows refer to but storage lacks (the other direction of the sweep)."""
    return [blob_id for blob_id in blob_ids if not storage.exists(blob_id)]
