"""Local blob storage: atomic writes, crash leftovers, no plaintext on disk, the orphan sweeper."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask

from xometry_site.services.crypto import CorruptBlob
from xometry_site.services.keyring import KeyRing
from xometry_site.services.storage import (
    BlobNotFound,
    LocalStorage,
    StorageError,
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

MARKER = b"XOMETRY-PLAINTEXT-MARKER-7f3a"


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "blobs")


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_blob_is_invisible_until_commit_then_durable_and_private(storage: LocalStorage) -> None:
    blob_id = new_blob_id()
    writer = storage.writer(blob_id)
    writer.write(b"ciphertext-1")
    writer.write(b"ciphertext-2")
    assert not storage.exists(blob_id) and not storage.path_for(blob_id).exists()
    assert writer.temp_path.parent == storage.path_for(blob_id).parent  # same directory: rename
    writer.commit()
    assert storage.exists(blob_id) and storage.size(blob_id) == 24
    assert files_under(storage.root) == [storage.path_for(blob_id)]
    assert stat.S_IMODE(storage.path_for(blob_id).stat().st_mode) == 0o600
    assert stat.S_IMODE(storage.path_for(blob_id).parent.stat().st_mode) == 0o700
    with storage.reader(blob_id) as handle:
        assert handle.read() == b"ciphertext-1ciphertext-2"
    assert list(storage.iter_ids()) == [blob_id]


def test_aborted_write_leaves_nothing(storage: LocalStorage) -> None:
    blob_id = new_blob_id()
    writer = storage.writer(blob_id)
    writer.write(b"half an upload")
    writer.abort()
    writer.abort()
    assert not storage.exists(blob_id) and files_under(storage.root) == []

    with pytest.raises(RuntimeError), storage.writer(blob_id) as failing:
        failing.write(b"x")
        raise RuntimeError("client went away")
    assert files_under(storage.root) == []
    with pytest.raises(StorageError):
        failing.write(b"after abort")


def test_crashed_write_leaves_no_blob_and_its_temp_file_is_swept(storage: LocalStorage) -> None:
    blob_id = new_blob_id()
    code = (
        "import os, signal\n"
        "from xometry_site.services.storage import LocalStorage\n"
        f"w = LocalStorage({str(storage.root)!r}).writer({blob_id!r})\n"
        "w.write(b'partial' * 1000)\n"
        "w._file.flush()\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, timeout=60)
    assert result.returncode == -9
    assert not storage.exists(blob_id) and not storage.path_for(blob_id).exists()
    leftovers = list(storage.iter_temp_files())
    assert len(leftovers) == 1 and list(storage.iter_ids()) == []

    assert storage.purge_incomplete(timedelta(hours=1)) == 0  # may still be a live upload
    later = datetime.now(UTC) + timedelta(hours=2)
    assert storage.purge_incomplete(timedelta(hours=1), now=later) == 1
    assert files_under(storage.root) == []


def test_no_plaintext_ever_reaches_the_storage_directory(storage: LocalStorage) -> None:
    ring = KeyRing.generate()
    drawing = (b"ISO-10303-21; " + MARKER + b" ") * 2000  # 88 KB, many segments
    chunks = [drawing[i : i + 5000] for i in range(0, len(drawing), 5000)]
    stored = store_encrypted(storage, ring, chunks, segment_size=4096)
    in_flight = EncryptedBlobWriter(storage, ring, segment_size=4096)
    in_flight.write(drawing)  # temp file of an upload still in progress
    refused = EncryptedBlobWriter(storage, ring)
    refused.write(drawing[:10_000])
    refused.abort()

    assert len(files_under(storage.root)) == 2
    for path in files_under(storage.root):
        content = path.read_bytes()
        assert MARKER not in content and b"ISO-10303-21" not in content
    in_flight.abort()
    assert b"".join(open_decrypted(storage, ring, **_row(stored))) == drawing


def _row(stored: StoredBlob) -> dict[str, object]:
    return {"blob_id": stored.blob_id, "kid": stored.kid, "wrapped_dek": stored.wrapped_dek}


def test_tampered_blob_on_disk_fails_cleanly(storage: LocalStorage) -> None:
    ring = KeyRing.generate()
    stored = store_encrypted(storage, ring, [MARKER * 100], segment_size=512)
    path = storage.path_for(stored.blob_id)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptBlob):
        b"".join(open_decrypted(storage, ring, **_row(stored)))


def test_destroy_removes_the_blob(storage: LocalStorage) -> None:
    ring = KeyRing.generate()
    stored = store_encrypted(storage, ring, [b"drawing"])
    destroy(storage, stored.blob_id)
    destroy(storage, stored.blob_id)  # a retried delete is fine
    assert files_under(storage.root) == []
    with pytest.raises(BlobNotFound):
        open_decrypted(storage, ring, **_row(stored))


def test_sweep_removes_only_old_orphans(storage: LocalStorage) -> None:
    known_old, orphan_old, orphan_young = (new_blob_id() for _ in range(3))
    for blob_id in (known_old, orphan_old, orphan_young):
        with storage.writer(blob_id) as writer:
            writer.write(b"ciphertext")
    two_days_ago = time.time() - 2 * 86400
    for blob_id in (known_old, orphan_old):
        os.utime(storage.path_for(blob_id), (two_days_ago, two_days_ago))

    removed = sweep_orphans(storage, {known_old}, older_than=timedelta(hours=6))
    assert removed == [orphan_old]
    assert set(storage.iter_ids()) == {known_old, orphan_young}


@pytest.mark.parametrize(
    "bad", ["../../etc/passwd", "drawing.step", "A" * 32, "", "ab/cd", "0" * 31]
)
def test_only_random_ids_are_accepted_as_names(storage: LocalStorage, bad: str) -> None:
    with pytest.raises(ValueError):
        storage.writer(bad)
    with pytest.raises(ValueError):
        storage.reader(bad)


def test_get_storage_defaults_to_instance_blobs_and_refuses_unknown_backends(
    tmp_path: Path,
) -> None:
    app = Flask("storage-test", instance_path=str(tmp_path / "instance"))
    app.config.update(STORAGE_BACKEND="local", STORAGE_LOCAL_ROOT=None)
    storage = get_storage(app)
    assert isinstance(storage, LocalStorage)
    assert storage.root == tmp_path / "instance" / "blobs" and storage.root.is_dir()
    assert get_storage(app) is storage

    for config in ({"STORAGE_BACKEND": "ftp"}, {"STORAGE_BACKEND": "s3", "S3_BUCKET": None}):
        other = Flask("storage-test", instance_path=str(tmp_path / "other"))
        other.config.update(config)
        with pytest.raises(StorageError):
            get_storage(other)
