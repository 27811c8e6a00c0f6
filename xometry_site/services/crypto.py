"""AES-256-GCM in segments for files, key wrapping and encrypted columns — keys from the key ring.

Blob format (version 1), everything big-endian:

    header  = magic "XMEB" | version 1 (1 byte) | segment size (4 bytes) | nonce prefix (7 bytes)
    segment = AES-256-GCM(dek, nonce, plaintext[i], aad=header)   (plaintext + 16-byte tag)
    nonce   = nonce prefix (7) | segment counter (4) | last-segment flag (1)

Every segment but the last holds exactly `segment size` plaintext bytes; the last holds 0..size and
is the only one sealed with the flag set. A changed byte fails its tag; moving a segment changes
its counter; cutting the file at a segment boundary leaves no flagged segment; anything after the
flagged segment is refused. A fresh random data key (DEK) per blob means prefixes never collide
under one key in practice, and the counter keeps nonces distinct inside a blob.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import struct
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from sqlalchemy.types import TypeDecorator

from xometry_site.services.keyring import KeyRing, UnknownKey, get_keyring

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Dialect

MAGIC = b"XMEB"
VERSION = 1
DEFAULT_SEGMENT_SIZE = 1024 * 1024
MAX_SEGMENT_SIZE = 16 * 1024 * 1024  # refuse headers that would make a reader allocate more
PREFIX_BYTES = 7
TAG_BYTES = 16
DEK_BYTES = 32
_HEADER = struct.Struct(f">4sBI{PREFIX_BYTES}s")
HEADER_BYTES = _HEADER.size
_MAX_SEGMENTS = 2**32
_WRAP_AAD = b"xometry-dek-v1|"
_FIELD_AAD = b"xometry-field-v1|"
FIELD_VERSION = "v1"
K = TypeVar("K")


class CryptoError(Exception):
    """Anything that stops us from giving back authenticated plaintext."""


class CorruptBlob(CryptoError):
    """The blob was changed, cut, reordered, extended, or is read with the wrong key."""


class CorruptField(CryptoError):
    """An encrypted column value failed authentication or is not in our format."""


class Sink(Protocol):
    """Where ciphertext goes: a file, a storage writer, a BytesIO."""

    def write(self, data: bytes, /) -> Any: ...


class Source(Protocol):
    """Where ciphertext comes from: anything with read(n)."""

    def read(self, size: int = -1, /) -> bytes: ...


def new_dek() -> bytes:
    """A fresh random 256-bit data key, one per blob."""
    return AESGCM.generate_key(bit_length=256)


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    """prefix ‖ 32-bit counter ‖ last flag: 12 bytes, unique per segment within a blob."""
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


class EncryptingWriter:
    """Encrypts a stream into `sink` in fixed segments, holding at most one segment in memory."""

    def __init__(self, sink: Sink, dek: bytes, segment_size: int = DEFAULT_SEGMENT_SIZE) -> None:
        if len(dek) != DEK_BYTES:
            raise ValueError("data key must be 32 bytes")
        if not 1 <= segment_size <= MAX_SEGMENT_SIZE:
            raise ValueError("segment size out of range")
        self._sink = sink
        self._aead = AESGCM(dek)
        self._segment_size = segment_size
        self._prefix = secrets.token_bytes(PREFIX_BYTES)
        self._header = _HEADER.pack(MAGIC, VERSION, segment_size, self._prefix)
        self._buffer = bytearray(segment_size)  # reused: no allocation per segment
        self._filled = 0
        self._counter = 0
        self._closed = False
        self.plaintext_size = 0
        self.ciphertext_size = 0
        self._emit_raw(self._header)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Buffer plaintext; seal a full segment only once we know another byte follows it."""
        if self._closed:
            raise ValueError("write to a closed EncryptingWriter")
        view = memoryview(data).cast("B")
        size = len(view)
        while view:
            if self._filled == self._segment_size:
                self._seal(last=False)
            take = min(self._segment_size - self._filled, len(view))
            self._buffer[self._filled : self._filled + take] = view[:take]
            self._filled += take
            view = view[take:]
        self.plaintext_size += size
        return size

    def close(self) -> None:
        """Seal the final segment with the last flag (an empty one for an empty file)."""
        if self._closed:
            return
        self._seal(last=True)
        self._closed = True

    def __enter__(self) -> EncryptingWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()

    def _seal(self, last: bool) -> None:
        if self._counter >= _MAX_SEGMENTS:
            raise CryptoError("stream too long for one data key")
        nonce = _nonce(self._prefix, self._counter, last)
        with memoryview(self._buffer) as view:
            sealed = self._aead.encrypt(nonce, view[: self._filled], self._header)
        self._emit_raw(sealed)
        self._counter += 1
        self._filled = 0

    def _emit_raw(self, data: bytes) -> None:
        self._sink.write(data)
        self.ciphertext_size += len(data)


def _read_exactly(source: Source, size: int) -> bytes:
    """Read `size` bytes unless the source ends first (sockets and S3 bodies return short reads)."""
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = source.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def decrypt_stream(source: Source, dek: bytes) -> Iterator[bytes]:
    """Yield plaintext segment by segment, each authenticated before it is yielded.

    Raises CorruptBlob on any defect. Segments before a defect were genuine and may already have
    been yielded; a consumer streaming to a client must treat the exception as a failed transfer.
    """
    header = _read_exactly(source, HEADER_BYTES)
    if len(header) != HEADER_BYTES:
        raise CorruptBlob("blob shorter than its header")
    magic, version, segment_size, prefix = _HEADER.unpack(header)
    if magic != MAGIC or version != VERSION or not 1 <= segment_size <= MAX_SEGMENT_SIZE:
        raise CorruptBlob("not a blob this version can read")
    try:
        aead = AESGCM(dek)
    except ValueError:
        raise CorruptBlob("wrong data key") from None
    sealed_size = segment_size + TAG_BYTES
    counter = 0
    current = _read_exactly(source, sealed_size)
    while True:
        following = _read_exactly(source, sealed_size)
        last = not following
        if counter >= _MAX_SEGMENTS:
            raise CorruptBlob("too many segments")
        try:
            plaintext = aead.decrypt(_nonce(prefix, counter, last), current, header)
        except (InvalidTag, ValueError):
            raise CorruptBlob("segment failed authentication (changed, cut or wrong key)") from None
        counter += 1
        if plaintext:
            yield plaintext
        if last:
            return
        current = following


# --- key wrapping --------------------------------------------------------------------------------


def _wrap_aad(kid: str) -> bytes:
    return _WRAP_AAD + kid.encode("ascii")


def wrap_dek(ring: KeyRing, dek: bytes) -> tuple[str, bytes]:
    """Seal a data key under the primary KEK; the key id is bound as associated data."""
    if len(dek) != DEK_BYTES:
        raise ValueError("data key must be 32 bytes")
    kid = ring.primary
    nonce = secrets.token_bytes(12)
    return kid, nonce + AESGCM(ring.key(kid)).encrypt(nonce, dek, _wrap_aad(kid))


def unwrap_dek(ring: KeyRing, kid: str, wrapped: bytes) -> bytes:
    """Open a wrapped data key; UnknownKey if its KEK is gone, CorruptBlob if it was changed."""
    kek = ring.key(kid)
    try:
        dek = AESGCM(kek).decrypt(bytes(wrapped[:12]), bytes(wrapped[12:]), _wrap_aad(kid))
    except (InvalidTag, ValueError):
        raise CorruptBlob("wrapped data key failed authentication") from None
    if len(dek) != DEK_BYTES:
        raise CorruptBlob("wrapped data key has the wrong length")
    return dek


def rewrap(ring: KeyRing, kid: str, wrapped: bytes) -> tuple[str, bytes]:
    """Move a wrapped data key to the primary KEK without touching the blob (idempotent)."""
    if kid == ring.primary:
        return kid, wrapped
    return wrap_dek(ring, unwrap_dek(ring, kid, wrapped))


def rewrap_rows(
    ring: KeyRing, rows: Iterable[tuple[K, str, bytes]]
) -> Iterator[tuple[K, str, bytes]]:
    """For (row key, kid, wrapped DEK) the caller loaded, yield the rows whose key must change."""
    for key, kid, wrapped in rows:
        if kid != ring.primary:
            new_kid, new_wrapped = rewrap(ring, kid, wrapped)
            yield key, new_kid, new_wrapped


# --- encrypted fields ----------------------------------------------------------------------------


def _field_aad(kid: str) -> bytes:
    return _FIELD_AAD + kid.encode("ascii")


def field_key_prefix(kid: str) -> str:
    """Token prefix of values under `kid`, for `LIKE 'prefix%'` checks before retiring a key."""
    return f"{FIELD_VERSION}.{kid}."


def _like_prefix(kid: str) -> str:
    """LIKE pattern matching tokens under `kid` exactly (`_` in an id is not a wildcard)."""
    escaped = field_key_prefix(kid).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def field_kid(token: str) -> str:
    """The key id a token was encrypted under."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != FIELD_VERSION:
        raise CorruptField("not an encrypted field value")
    return parts[1]


def encrypt_field(ring: KeyRing, text: str) -> str:
    """'v1.<kid>.<base64url(nonce ‖ ciphertext)>' under the primary KEK; fresh nonce each time."""
    kid = ring.primary
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(ring.key(kid)).encrypt(nonce, text.encode("utf-8"), _field_aad(kid))
    return f"{FIELD_VERSION}.{kid}." + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def decrypt_field(ring: KeyRing, token: str) -> str:
    """Plaintext of a token; CorruptField if it was changed, UnknownKey if its KEK is gone."""
    kid = field_kid(token)
    try:
        raw = base64.urlsafe_b64decode(token.split(".", 2)[2].encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise CorruptField("encrypted field is not valid base64") from None
    kek = ring.key(kid)
    try:
        plain = AESGCM(kek).decrypt(raw[:12], raw[12:], _field_aad(kid))
    except (InvalidTag, ValueError):
        raise CorruptField("encrypted field failed authentication") from None
    return plain.decode("utf-8")


def reencrypt_field(ring: KeyRing, token: str) -> str:
    """The same plaintext under the primary KEK; unchanged if it already is (idempotent)."""
    if field_kid(token) == ring.primary:
        return token
    return encrypt_field(ring, decrypt_field(ring, token))


def reencrypt_tokens(
    ring: KeyRing, rows: Iterable[tuple[K, str | None]]
) -> Iterator[tuple[K, str]]:
    """For (row key, token) pairs the caller loaded, yield the rows whose token must change."""
    for key, token in rows:
        if token is not None and field_kid(token) != ring.primary:
            yield key, reencrypt_field(ring, token)


def reencrypt_column(conn: Connection, column: sa.Column[Any], ring: KeyRing) -> int:
    """Re-encrypt one EncryptedText column of a table under the primary KEK; returns rows changed.

    Works on the raw tokens (no decrypt-on-load), so it runs without an app context, e.g. from
    `flask keys rotate` or a migration. The caller commits.
    """
    table = column.table
    pk = list(table.primary_key.columns)
    raw = sa.type_coerce(column, sa.Text)
    keep = _like_prefix(ring.primary)
    stale = sa.select(*pk, raw.label("token")).where(
        raw.is_not(None), raw.not_like(keep, escape="\\")
    )
    changed = 0
    for row in conn.execute(stale).all():
        new = reencrypt_field(ring, row.token)
        where = sa.and_(*(col == row._mapping[col] for col in pk))
        conn.execute(
            sa.update(table).where(where).values({column.name: sa.type_coerce(new, sa.Text)})
        )
        changed += 1
    return changed


def column_uses_key(conn: Connection, column: sa.Column[Any], kid: str) -> bool:
    """Whether any value of an EncryptedText column is still under `kid` (for KeyRing.retire)."""
    raw = sa.type_coerce(column, sa.Text)
    query = sa.select(sa.literal(1)).where(raw.like(_like_prefix(kid), escape="\\")).limit(1)
    return conn.execute(query).first() is not None


class EncryptedText(TypeDecorator[str]):
    """A text column stored as an AES-256-GCM token under the current app's key ring.

    Values cannot be searched or compared in SQL (each encryption uses a fresh nonce).
    """

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return encrypt_field(_current_ring(), value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return decrypt_field(_current_ring(), value)


def _current_ring() -> KeyRing:
    """The key ring of the Flask app handling this request, job or CLI command."""
    return get_keyring(current_app._get_current_object())  # type: ignore[attr-defined]


__all__ = [
    "DEFAULT_SEGMENT_SIZE",
    "HEADER_BYTES",
    "CorruptBlob",
    "CorruptField",
    "CryptoError",
    "EncryptedText",
    "EncryptingWriter",
    "UnknownKey",
    "column_uses_key",
    "decrypt_field",
    "decrypt_stream",
    "encrypt_field",
    "field_key_prefix",
    "field_kid",
    "new_dek",
    "reencrypt_column",
    "reencrypt_field",
    "reencrypt_tokens",
    "rewrap",
    "rewrap_rows",
    "unwrap_dek",
    "wrap_dek",
]
