"""The same storage contract on the local directory and on a real S3 server (moto) on loopback."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask

from xometry_site.services.crypto import CorruptBlob, rewrap
from xometry_site.services.keyring import KeyRing
from xometry_site.services.s3_storage import S3Storage
from xometry_site.services.storage import (
    BlobNotFound,
    BlobStorage,
    LocalStorage,
    get_storage,
    new_blob_id,
)
from xometry_site.services.vault import (
    EncryptedBlobWriter,
    StoredBlob,
    destroy,
    open_decrypted,
    store_encrypted,
    sweep_orphans,
)

pytestmark = pytest.mark.slow  # starts moto's S3 server on 127.0.0.1

BUCKET = "xometry-drawings"
CREDENTIALS = {"access_key": "test-access-key", "secret_key": "test-secret-key"}
MIB = 1024 * 1024
PART = 5 * MIB  # the smallest part S3 allows, so multipart uploads happen in small tests
MARKER = b"XOMETRY-PLAINTEXT-MARKER-s3"
FAR_FUTURE = datetime.now(UTC) + timedelta(days=30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_moto() -> tuple[subprocess.Popen[bytes], str]:
    """moto's S3 server in its own process, so memory measured here is only ours."""
    for _ in range(5):
        port = _free_port()
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            if process.poll() is not None:
                break  # the port was taken in the meantime: try another
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return process, f"http://127.0.0.1:{port}"
            except OSError:
                time.sleep(0.1)
        process.kill()
        process.wait()
    raise RuntimeError("moto server did not start")


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    process, endpoint = _start_moto()
    try:
        client = S3Storage(BUCKET, endpoint_url=endpoint, region="us-east-1", **CREDENTIALS).client
        client.create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStorage:
    if request.param == "local":
        return LocalStorage(tmp_path / "blobs")
    endpoint = request.getfixturevalue("s3_endpoint")
    prefix = f"test-{new_blob_id()}/"  # every test sees an empty "directory"
    return S3Storage(BUCKET, prefix, endpoint, "us-east-1", part_size=PART, **CREDENTIALS)


def raw_contents(storage: BlobStorage) -> dict[str, bytes]:
    """Every committed object exactly as storage holds it."""
    contents = {}
    for blob_id in storage.iter_ids():
        reader = storage.reader(blob_id)
        try:
            contents[blob_id] = reader.read()
        finally:
            reader.close()
    return contents


def row(stored: StoredBlob) -> dict[str, object]:
    return {"blob_id": stored.blob_id, "kid": stored.kid, "wrapped_dek": stored.wrapped_dek}


def plaintext(size: int) -> bytes:
    line = b"G1 X10 Y20 ; " + MARKER + b"\n"
    return (line * (size // len(line) + 1))[:size]


def test_blob_appears_only_on_commit(storage: BlobStorage) -> None:
    blob_id = new_blob_id()
    writer = storage.writer(blob_id)
    writer.write(b"sealed-")
    writer.write(b"bytes")
    assert not storage.exists(blob_id) and list(storage.iter_ids()) == []
    writer.commit()
    assert storage.exists(blob_id) and storage.size(blob_id) == 12
    assert raw_contents(storage) == {blob_id: b"sealed-bytes"}
    [info] = list(storage.iter_blobs())
    assert info.blob_id == blob_id and info.size == 12 and info.modified.tzinfo is not None


@pytest.mark.parametrize("size", [10, 6 * MIB], ids=["single-put", "multipart"])
def test_abort_leaves_nothing_behind(storage: BlobStorage, size: int) -> None:
    writer = storage.writer(new_blob_id())
    writer.write(b"c" * size)
    writer.abort()
    with pytest.raises(ValueError), storage.writer(new_blob_id()) as failing:
        failing.write(b"d" * size)
        raise ValueError("upload refused half-way")
    assert list(storage.iter_ids()) == []
    assert storage.purge_incomplete(timedelta(0), now=FAR_FUTURE) == 0  # nothing half-written


def test_crashed_write_is_invisible_and_purged_later(storage: BlobStorage) -> None:
    blob_id = new_blob_id()
    writer = storage.writer(blob_id)
    writer.write(b"e" * (6 * MIB))  # S3: a multipart upload is now open
    del writer  # the process dies: neither commit nor abort runs
    assert not storage.exists(blob_id) and list(storage.iter_ids()) == []
    assert storage.purge_incomplete(timedelta(hours=1), now=FAR_FUTURE) == 1
    assert storage.purge_incomplete(timedelta(hours=1), now=FAR_FUTURE) == 0


def test_large_drawing_streams_through_in_bounded_memory(storage: BlobStorage) -> None:
    ring = KeyRing.generate()
    size = 24 * MIB
    chunk = plaintext(64 * 1024)
    digest = hashlib.sha256()
    tracemalloc.start()
    try:
        writer = EncryptedBlobWriter(storage, ring)
        for _ in range(size // len(chunk)):
            writer.write(chunk)
            digest.update(chunk)
        stored = writer.finish()
        _, write_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        check = hashlib.sha256()
        total = 0
        for piece in open_decrypted(storage, ring, **row(stored)):
            check.update(piece)
            total += len(piece)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stored.size == total == size and stored.sha256 == digest.hexdigest() == check.hexdigest()
    # one S3 part (5 MiB) and a few 1 MiB segments at most, never the 24 MiB file
    assert write_peak < 12 * MIB and read_peak < 12 * MIB


def test_no_plaintext_in_any_stored_object(storage: BlobStorage) -> None:
    ring = KeyRing.generate()
    drawing = plaintext(300_000)
    store_encrypted(storage, ring, [drawing[i : i + 7000] for i in range(0, len(drawing), 7000)])
    store_encrypted(storage, ring, [drawing], segment_size=4096)
    contents = raw_contents(storage)
    assert len(contents) == 2
    assert all(MARKER not in body and b"G1 X10" not in body for body in contents.values())


def test_tampered_object_fails_cleanly(storage: BlobStorage) -> None:
    ring = KeyRing.generate()
    stored = store_encrypted(storage, ring, [plaintext(50_000)], segment_size=8192)
    body = bytearray(raw_contents(storage)[stored.blob_id])
    body[-100] ^= 0x01
    with storage.writer(stored.blob_id) as writer:  # an attacker with bucket access rewrites it
        writer.write(bytes(body))
    with pytest.raises(CorruptBlob):
        b"".join(open_decrypted(storage, ring, **row(stored)))
    with storage.writer(stored.blob_id) as writer:
        writer.write(bytes(body[:-8192]))  # cut short
    with pytest.raises(CorruptBlob):
        b"".join(open_decrypted(storage, ring, **row(stored)))


def test_destroyed_drawing_is_gone(storage: BlobStorage) -> None:
    ring = KeyRing.generate()
    stored = store_encrypted(storage, ring, [b"drawing"])
    destroy(storage, stored.blob_id)
    destroy(storage, stored.blob_id)
    assert not storage.exists(stored.blob_id) and raw_contents(storage) == {}
    with pytest.raises(BlobNotFound):
        open_decrypted(storage, ring, **row(stored))
    with pytest.raises(BlobNotFound):
        storage.size(stored.blob_id)


def test_rewrap_does_not_touch_stored_content(storage: BlobStorage) -> None:
    ring = KeyRing.generate()
    drawing = plaintext(40_000)
    stored = store_encrypted(storage, ring, [drawing], segment_size=4096)
    before = raw_contents(storage)
    old = ring.primary
    ring.promote(ring.add_key())
    kid, wrapped = rewrap(ring, stored.kid, stored.wrapped_dek)
    ring.retire(old, in_use=lambda k: k == kid)  # the row now names only the new key
    assert raw_contents(storage) == before
    assert b"".join(open_decrypted(storage, ring, stored.blob_id, kid, wrapped)) == drawing


def test_sweep_spares_known_and_young_blobs(storage: BlobStorage) -> None:
    ring = KeyRing.generate()
    known = store_encrypted(storage, ring, [b"kept"]).blob_id
    orphan = store_encrypted(storage, ring, [b"upload whose row never committed"]).blob_id
    grace = timedelta(hours=6)
    assert sweep_orphans(storage, {known}, older_than=grace) == []
    later = datetime.now(UTC) + grace + timedelta(minutes=5)
    assert sweep_orphans(storage, {known}, older_than=grace, now=later) == [orphan]
    assert list(storage.iter_ids()) == [known]


def test_get_storage_builds_s3_from_configuration(s3_endpoint: str, tmp_path: Path) -> None:
    app = Flask("s3-config-test", instance_path=str(tmp_path))
    app.config.update(
        STORAGE_BACKEND="s3",
        S3_ENDPOINT_URL=s3_endpoint,
        S3_BUCKET=BUCKET,
        S3_REGION="us-east-1",
        S3_ACCESS_KEY_ID=CREDENTIALS["access_key"],
        S3_SECRET_ACCESS_KEY=CREDENTIALS["secret_key"],
        S3_PREFIX="from-config",
    )
    storage = get_storage(app)
    assert isinstance(storage, S3Storage) and storage.prefix == "from-config/"
    ring = KeyRing.generate()
    stored = store_encrypted(storage, ring, [b"via config"])
    key = f"from-config/{stored.blob_id[:2]}/{stored.blob_id}"
    assert storage.client.head_object(Bucket=BUCKET, Key=key)["ContentLength"] > 10
    assert b"".join(open_decrypted(storage, ring, **row(stored))) == b"via config"
    assert not (tmp_path / "blobs").exists()
