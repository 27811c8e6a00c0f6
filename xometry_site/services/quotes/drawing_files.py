"""A drawing's encrypted files: its row, reading it back (verified), preview, viewer mesh, shredding."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from typing import Any

from flask import current_app

from ...extensions import db
from ...models import Drawing
from .. import vault
from ..crypto import CorruptBlob, CryptoError
from ..keyring import KeyRingError, get_keyring
from ..storage import BlobStorage, StorageError, get_storage


def blob_storage() -> BlobStorage:
    return get_storage(current_app._get_current_object())  # type: ignore[attr-defined]


def key_ring():
    return get_keyring(current_app._get_current_object())  # type: ignore[attr-defined]


def stored_drawing(stored: vault.StoredBlob, **fields: Any) -> Drawing:
    """A drawing row for an encrypted blob: the blob's size, digest, id and wrapped data key."""
    return Drawing(
        size=stored.size,
        sha256=stored.sha256,
        blob_id=stored.blob_id,
        key_id=stored.kid,
        wrapped_key=stored.wrapped_dek,
        **fields,
    )


def open_plaintext(drawing: Drawing) -> Iterator[bytes]:
    """Decrypted chunks of a drawing (first segment already authenticated)."""
    if not drawing.is_readable or not drawing.blob_id or not drawing.key_id:
        raise CorruptBlob("the drawing's key was destroyed")
    return vault.open_decrypted(
        blob_storage(), key_ring(), drawing.blob_id, drawing.key_id, drawing.wrapped_key or b""
    )


def verified_download(drawing: Drawing) -> Iterator[bytes]:
    """Authenticate the whole file (and its SHA-256) first, then stream it.

    Two passes cost one extra decryption, and buy a clean refusal before the response starts
    when any byte was changed, instead of a transfer cut off in the middle.
    """
    digest = hashlib.sha256()
    chunks = open_plaintext(drawing)
    with contextlib.closing(chunks):
        for chunk in chunks:
            digest.update(chunk)
    if digest.hexdigest() != drawing.sha256:
        raise CorruptBlob("content does not match its recorded SHA-256")
    return open_plaintext(drawing)


def preview_bytes(drawing: Drawing) -> bytes:
    """The decrypted PNG preview (small: read whole)."""
    if not drawing.has_preview or not drawing.preview_blob_id or not drawing.preview_key_id:
        raise CorruptBlob("no preview")
    return _read_whole(
        drawing.preview_blob_id, drawing.preview_key_id, drawing.preview_wrapped_key or b""
    )


def mesh_bytes(drawing: Drawing) -> bytes:
    """The decrypted viewer mesh, still gzipped (a megabyte or two at most: read whole)."""
    if not drawing.has_mesh or not drawing.mesh_blob_id or not drawing.mesh_key_id:
        raise CorruptBlob("no mesh")
    return _read_whole(drawing.mesh_blob_id, drawing.mesh_key_id, drawing.mesh_wrapped_key or b"")


def _read_whole(blob_id: str, kid: str, wrapped_dek: bytes) -> bytes:
    chunks = vault.open_decrypted(blob_storage(), key_ring(), blob_id, kid, wrapped_dek)
    with contextlib.closing(chunks):
        return b"".join(chunks)


READ_ERRORS = (CryptoError, StorageError, KeyRingError, FileNotFoundError)


def shred_drawing(drawing: Drawing) -> None:
    """Delete a drawing for good: forget its keys, commit, then remove the ciphertext."""
    blobs = drawing.shred()
    db.session.commit()
    for blob_id in blobs:
        with contextlib.suppress(Exception):
            vault.destroy(blob_storage(), blob_id)
