"""Copy encrypted blobs between object storage and a backup directory: `pull DIR` or `push DIR`.

Blobs never change once written (random ids), so a sync copies only the ids the other side lacks.
Reads the same variables as the site: STORAGE_BACKEND (s3 | local), S3_*, STORAGE_LOCAL_ROOT.
Backups hold ciphertext only; the key ring (KEYRING) is backed up separately, never beside them.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from xometry_site.services.s3_storage import S3Storage
from xometry_site.services.storage import (
    BLOB_ID_PATTERN,
    BlobStorage,
    LocalStorage,
)

CHUNK = 1024 * 1024


def storage_from_env() -> BlobStorage:
    backend = (os.environ.get("STORAGE_BACKEND") or "s3").lower()
    if backend == "local":
        return LocalStorage(os.environ["STORAGE_LOCAL_ROOT"])
    return S3Storage(
        bucket=os.environ.get("S3_BUCKET", ""),
        prefix=os.environ.get("S3_PREFIX", ""),
        endpoint_url=os.environ.get("S3_ENDPOINT_URL") or None,
        region=os.environ.get("S3_REGION") or None,
        access_key=os.environ.get("S3_ACCESS_KEY_ID") or None,
        secret_key=os.environ.get("S3_SECRET_ACCESS_KEY") or None,
        addressing_style=os.environ.get("S3_ADDRESSING_STYLE") or "auto",
    )


def backup_path(folder: Path, blob_id: str) -> Path:
    return folder / blob_id[:2] / blob_id


def pull(storage: BlobStorage, folder: Path) -> int:
    """Download every blob the folder lacks (temp name → fsync → rename); returns how many."""
    copied = 0
    for info in storage.iter_blobs():
        target = backup_path(folder, info.blob_id)
        if target.exists() and target.stat().st_size == info.size:
            continue
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temp = target.with_name(target.name + ".part")
        reader = storage.reader(info.blob_id)
        try:
            with open(temp, "wb") as out:
                shutil.copyfileobj(reader, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
        finally:
            reader.close()
        os.replace(temp, target)
        copied += 1
    return copied


def push(storage: BlobStorage, folder: Path) -> int:
    """Upload every backed-up blob the storage lacks; returns how many."""
    copied = 0
    for path in sorted(folder.glob("??/*")):
        if not BLOB_ID_PATTERN.match(path.name) or storage.exists(path.name):
            continue
        with open(path, "rb") as source, storage.writer(path.name) as writer:
            while chunk := source.read(CHUNK):
                writer.write(chunk)
        copied += 1
    return copied


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in {"pull", "push"}:
        print("usage: sync_blobs.py pull|push DIR", file=sys.stderr)
        return 2
    folder = Path(argv[2])
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    action = pull if argv[1] == "pull" else push
    count = action(storage_from_env(), folder)
    print(f"blobs {argv[1]}ed: {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
