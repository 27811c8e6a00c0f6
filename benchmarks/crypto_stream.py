"""Encrypted blob throughput against a plain copy measured in the same run, and flat memory.

    .venv/bin/python benchmarks/crypto_stream.py [--size-mb 200] [--dir /tmp]

Prints MB/s for a plain write/read through LocalStorage and for the encrypted write
(EncryptedBlobWriter) and decrypted read (open_decrypted) of the same bytes, their ratio, and the
peak Python memory (tracemalloc) for a small and a large file: the two should be about equal.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from xometry_site.services.crypto import EncryptingWriter, new_dek
from xometry_site.services.keyring import KeyRing
from xometry_site.services.storage import LocalStorage, new_blob_id
from xometry_site.services.vault import EncryptedBlobWriter, StoredBlob, open_decrypted

CHUNK = 256 * 1024  # what a streaming upload parser hands over at a time
MB = 1_000_000
T = TypeVar("T")


def chunks(total: int) -> Iterator[bytes]:
    """`total` bytes of incompressible data, produced chunk by chunk."""
    block = os.urandom(CHUNK)
    sent = 0
    while sent < total:
        piece = block if total - sent >= CHUNK else block[: total - sent]
        sent += len(piece)
        yield piece


def plain_write(storage: LocalStorage, total: int) -> str:
    blob_id = new_blob_id()
    with storage.writer(blob_id) as writer:
        for piece in chunks(total):
            writer.write(piece)
    return blob_id


def plain_read(storage: LocalStorage, blob_id: str) -> int:
    read = 0
    with storage.reader(blob_id) as handle:
        while piece := handle.read(1024 * 1024):
            read += len(piece)
    return read


def encrypted_write(storage: LocalStorage, ring: KeyRing, total: int) -> StoredBlob:
    writer = EncryptedBlobWriter(storage, ring)
    for piece in chunks(total):
        writer.write(piece)
    return writer.finish()


def decrypted_read(storage: LocalStorage, ring: KeyRing, stored: StoredBlob) -> int:
    stream = open_decrypted(storage, ring, stored.blob_id, stored.kid, stored.wrapped_dek)
    return sum(len(piece) for piece in stream)


class NullSink:
    """Discards ciphertext: isolates the cipher from the disk and the SHA-256 of the vault."""

    def write(self, data: bytes) -> int:
        return len(data)


def encrypt_only(total: int) -> None:
    writer = EncryptingWriter(NullSink(), new_dek())
    for piece in chunks(total):
        writer.write(piece)
    writer.close()


def timed(action: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def peak_memory(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--dir", default=None, help="where to write (default: a temp dir)")
    args = parser.parse_args()
    total = args.size_mb * MB
    ring = KeyRing.generate()

    with tempfile.TemporaryDirectory(dir=args.dir) as root:
        storage = LocalStorage(Path(root) / "blobs")
        plain_id, t_plain_w = timed(lambda: plain_write(storage, total))
        read, t_plain_r = timed(lambda: plain_read(storage, plain_id))
        assert read == total
        storage.delete(plain_id)

        stored, t_enc = timed(lambda: encrypted_write(storage, ring, total))
        read, t_dec = timed(lambda: decrypted_read(storage, ring, stored))
        assert read == total == stored.size
        overhead = storage.size(stored.blob_id) - total
        storage.delete(stored.blob_id)
        _, t_cipher = timed(lambda: encrypt_only(total))

        def write_and_read(size: int) -> None:
            blob = encrypted_write(storage, ring, size)
            decrypted_read(storage, ring, blob)
            storage.delete(blob.blob_id)

        small, large = max(1, args.size_mb // 10) * MB, total
        peak_small = peak_memory(lambda: write_and_read(small))
        peak_large = peak_memory(lambda: write_and_read(large))

    def rate(seconds: float) -> float:
        return total / MB / seconds

    print(f"size: {args.size_mb} MB in {CHUNK // 1024} KiB chunks, 1 MiB segments")
    print(
        f"write  plain {rate(t_plain_w):8.1f} MB/s   encrypted {rate(t_enc):8.1f} MB/s"
        f"   ratio {t_plain_w / t_enc:5.2f}"
    )
    print(
        f"read   plain {rate(t_plain_r):8.1f} MB/s   decrypted {rate(t_dec):8.1f} MB/s"
        f"   ratio {t_plain_r / t_dec:5.2f}"
    )
    print(f"cipher alone (no disk, no SHA-256) {rate(t_cipher):8.1f} MB/s")
    print(f"ciphertext overhead: {overhead} bytes ({overhead / total:.4%})")
    print(
        f"peak Python memory: {small // MB} MB file {peak_small / 2**20:.1f} MiB, "
        f"{large // MB} MB file {peak_large / 2**20:.1f} MiB"
        f" (flat: {peak_large / peak_small:.2f}x)"
    )


if __name__ == "__main__":
    main()
