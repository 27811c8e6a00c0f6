"""Segmented AEAD, key wrapping and encrypted columns: round trips, tampering, rotation."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from hypothesis import example, given, settings
from hypothesis import strategies as st

from xometry_site.services.crypto import (
    HEADER_BYTES,
    TAG_BYTES,
    CorruptBlob,
    CorruptField,
    EncryptedText,
    EncryptingWriter,
    column_uses_key,
    decrypt_field,
    decrypt_stream,
    encrypt_field,
    field_kid,
    new_dek,
    reencrypt_column,
    reencrypt_tokens,
    rewrap,
    rewrap_rows,
    unwrap_dek,
    wrap_dek,
)
from xometry_site.services.keyring import KeyInUse, KeyRing, UnknownKey, get_keyring
from xometry_site.services.storage import LocalStorage
from xometry_site.services.vault import open_decrypted, store_encrypted

SEG = 16
DEK = new_dek()


def encrypt(
    plain: bytes, dek: bytes = DEK, seg: int = SEG, pieces: list[int] | None = None
) -> bytes:
    sink = io.BytesIO()
    writer = EncryptingWriter(sink, dek, segment_size=seg)
    start = 0
    for size in pieces or []:
        writer.write(plain[start : start + size])
        start += size
    writer.write(plain[start:])
    writer.close()
    return sink.getvalue()


def decrypt(blob: bytes, dek: bytes = DEK) -> bytes:
    return b"".join(decrypt_stream(io.BytesIO(blob), dek))


def segments(blob: bytes, seg: int = SEG) -> tuple[bytes, list[bytes]]:
    """Split a blob into its header and its sealed segments."""
    body = blob[HEADER_BYTES:]
    step = seg + TAG_BYTES
    return blob[:HEADER_BYTES], [body[i : i + step] for i in range(0, len(body), step)]


class TrickleSource:
    """A source that returns at most 5 bytes per read, like a slow socket."""

    def __init__(self, data: bytes) -> None:
        self._stream = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(min(5, size) if size >= 0 else 5)


# --- round trips ---------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    seg=st.sampled_from([1, 7, 16, 64]),
    factor=st.integers(0, 5),
    offset=st.integers(-1, 1),
    pieces=st.lists(st.integers(0, 40), max_size=6),
    data=st.data(),
)
def test_round_trip_around_segment_boundaries(
    seg: int, factor: int, offset: int, pieces: list[int], data: st.DataObject
) -> None:
    size = max(0, seg * factor + offset)
    plain = data.draw(st.binary(min_size=size, max_size=size))
    blob = encrypt(plain, seg=seg, pieces=pieces)
    assert decrypt(blob) == plain
    assert b"".join(decrypt_stream(TrickleSource(blob), DEK)) == plain


@given(st.binary(max_size=300))
@example(b"")
@example(b"x" * SEG)
@example(b"x" * (3 * SEG))
def test_ciphertext_size_is_header_plus_one_tag_per_segment(plain: bytes) -> None:
    blob = encrypt(plain)
    count = max(1, -(-len(plain) // SEG))
    assert len(blob) == HEADER_BYTES + len(plain) + count * TAG_BYTES
    assert decrypt(blob) == plain


def test_empty_file_still_has_a_sealed_last_segment() -> None:
    blob = encrypt(b"")
    assert len(blob) == HEADER_BYTES + TAG_BYTES
    assert decrypt(blob) == b""
    with pytest.raises(CorruptBlob):
        decrypt(blob[:HEADER_BYTES])


def test_chunks_come_out_one_segment_at_a_time() -> None:
    plain = bytes(range(256)) * 4
    chunks = list(decrypt_stream(io.BytesIO(encrypt(plain, seg=100)), DEK))
    assert [len(c) for c in chunks] == [100] * 10 + [24]


# --- tampering -----------------------------------------------------------------------------------

PLAIN = bytes(range(40)) + b"tail"  # 44 bytes: segments of 16, 16, 12


def test_every_flipped_bit_position_fails() -> None:
    blob = encrypt(PLAIN)
    for position in range(len(blob)):
        for bit in (0x01, 0x80):
            broken = bytearray(blob)
            broken[position] ^= bit
            with pytest.raises(CorruptBlob):
                decrypt(bytes(broken))


def test_every_truncation_fails() -> None:
    blob = encrypt(PLAIN)
    for length in range(len(blob)):
        with pytest.raises(CorruptBlob):
            decrypt(blob[:length])


def test_cut_at_a_segment_boundary_fails() -> None:
    header, segs = segments(encrypt(b"a" * (3 * SEG)))
    assert len(segs) == 3
    with pytest.raises(CorruptBlob):
        decrypt(header + segs[0] + segs[1])


@pytest.mark.parametrize(
    "rearrange",
    [
        pytest.param(lambda s: [s[1], s[0], s[2]], id="swap-first-two"),
        pytest.param(lambda s: [s[0], s[2]], id="drop-middle"),
        pytest.param(lambda s: [s[0], s[1], s[1], s[2]], id="duplicate-middle"),
        pytest.param(lambda s: [s[0], s[1], s[2], s[2]], id="repeat-last"),
        pytest.param(lambda s: [s[2], s[0], s[1]], id="last-first"),
        pytest.param(lambda s: [*s, b"\x00" * 5], id="trailing-junk"),
        pytest.param(lambda s: [*s, s[0]], id="append-a-genuine-segment"),
    ],
)
def test_reordered_or_extended_segments_fail(rearrange) -> None:
    header, segs = segments(encrypt(PLAIN))
    with pytest.raises(CorruptBlob):
        decrypt(header + b"".join(rearrange(segs)))


def test_segments_from_another_file_under_the_same_key_fail() -> None:
    header_a, segs_a = segments(encrypt(PLAIN))
    _, segs_b = segments(encrypt(PLAIN))
    with pytest.raises(CorruptBlob):
        decrypt(header_a + segs_a[0] + segs_b[1] + segs_a[2])


def test_wrong_key_fails_before_yielding_anything() -> None:
    stream = decrypt_stream(io.BytesIO(encrypt(PLAIN)), new_dek())
    with pytest.raises(CorruptBlob):
        next(stream)


def test_header_claiming_huge_segments_is_refused_without_allocating() -> None:
    blob = bytearray(encrypt(PLAIN))
    blob[5:9] = (2**31).to_bytes(4, "big")
    with pytest.raises(CorruptBlob):
        decrypt(bytes(blob))


def test_not_a_blob_is_refused() -> None:
    for junk in (b"", b"XMEB", b"%PDF-1.7" + b"\x00" * 64, b"ISO-10303-21;" * 5):
        with pytest.raises(CorruptBlob):
            decrypt(junk)


def test_only_authenticated_segments_are_ever_yielded() -> None:
    plain = b"A" * SEG + b"B" * SEG + b"C" * SEG + b"D" * 5
    broken = bytearray(encrypt(plain))
    broken[HEADER_BYTES + 2 * (SEG + TAG_BYTES) + 3] ^= 0x04  # inside the third segment
    received: list[bytes] = []
    with pytest.raises(CorruptBlob):
        for chunk in decrypt_stream(io.BytesIO(bytes(broken)), DEK):
            received.append(chunk)
    assert b"".join(received) == b"A" * SEG + b"B" * SEG


# --- nonce uniqueness ----------------------------------------------------------------------------


def test_same_plaintext_and_key_never_give_the_same_keystream() -> None:
    plain = b"same drawing" * 10
    bodies = set()
    for _ in range(200):
        _, segs = segments(encrypt(plain))
        bodies.add(b"".join(seg[:-TAG_BYTES] for seg in segs))  # ciphertext without the tags
    assert len(bodies) == 200


def test_identical_segments_inside_one_file_encrypt_differently() -> None:
    _, segs = segments(encrypt(b"z" * (SEG * 8)))
    assert len({seg[:-TAG_BYTES] for seg in segs}) == 8


# --- key wrapping and rotation -------------------------------------------------------------------


def two_key_ring() -> KeyRing:
    ring = KeyRing.generate()
    ring.promote(ring.add_key())
    return ring


def test_wrap_round_trip_and_tampering() -> None:
    ring = KeyRing.generate()
    dek = new_dek()
    kid, wrapped = wrap_dek(ring, dek)
    assert kid == ring.primary and dek not in wrapped
    assert unwrap_dek(ring, kid, wrapped) == dek
    for position in range(len(wrapped)):
        broken = bytearray(wrapped)
        broken[position] ^= 0x01
        with pytest.raises(CorruptBlob):
            unwrap_dek(ring, kid, bytes(broken))


def test_wrapped_key_cannot_be_relabelled_with_another_key_id() -> None:
    ring = two_key_ring()
    old = next(k for k in ring.keys if k != ring.primary)
    ring.keys[old] = ring.primary_key  # even if both ids held the same KEK, the id is bound
    _, wrapped = wrap_dek(ring, new_dek())
    with pytest.raises(CorruptBlob):
        unwrap_dek(ring, old, wrapped)
    with pytest.raises(UnknownKey):
        unwrap_dek(ring, "k-missing", wrapped)


def test_rewrap_leaves_ciphertext_untouched_and_it_still_decrypts(tmp_path: Path) -> None:
    ring = KeyRing.generate()
    storage = LocalStorage(tmp_path / "blobs")
    plain = b"drawing body " * 500
    stored = store_encrypted(storage, ring, [plain], segment_size=256)
    before = storage.path_for(stored.blob_id).read_bytes()
    old_kid = ring.primary

    ring.promote(ring.add_key())
    new_kid, new_wrapped = rewrap(ring, stored.kid, stored.wrapped_dek)
    assert new_kid == ring.primary != old_kid
    assert rewrap(ring, new_kid, new_wrapped) == (new_kid, new_wrapped)  # idempotent

    ring.retire(old_kid, in_use=lambda kid: kid in {new_kid})
    assert storage.path_for(stored.blob_id).read_bytes() == before
    assert b"".join(open_decrypted(storage, ring, stored.blob_id, new_kid, new_wrapped)) == plain
    with pytest.raises(UnknownKey):
        open_decrypted(storage, ring, stored.blob_id, stored.kid, stored.wrapped_dek)


def test_rewrap_rows_changes_only_rows_under_old_keys() -> None:
    ring = KeyRing.generate()
    deks = {n: new_dek() for n in range(3)}
    rows = [(n, *wrap_dek(ring, deks[n])) for n in (0, 1)]
    ring.promote(ring.add_key())
    rows.append((2, *wrap_dek(ring, deks[2])))
    changed = list(rewrap_rows(ring, rows))
    assert [key for key, _, _ in changed] == [0, 1]
    for key, kid, wrapped in changed:
        assert kid == ring.primary and unwrap_dek(ring, kid, wrapped) == deks[key]
    assert list(rewrap_rows(ring, [(k, kid, w) for k, kid, w in changed])) == []


# --- encrypted fields ----------------------------------------------------------------------------


@given(st.text(max_size=80))
def test_field_round_trip(text: str) -> None:
    ring = KeyRing.generate()
    token = encrypt_field(ring, text)
    assert token.startswith(f"v1.{ring.primary}.")
    assert decrypt_field(ring, token) == text


def test_field_tokens_hide_the_value_and_resist_tampering() -> None:
    ring = two_key_ring()
    secret = "6222021234567890123"
    first, second = encrypt_field(ring, secret), encrypt_field(ring, secret)
    assert first != second and secret not in first
    body = first.rsplit(".", 1)[1]
    flipped = body[:5] + ("A" if body[5] != "A" else "B") + body[6:]
    other = next(k for k in ring.keys if k != ring.primary)
    for bad in (
        first.rsplit(".", 1)[0] + "." + flipped,
        f"v1.{other}.{body}",
        "v2." + first[3:],
        "plain text",
        f"v1.{ring.primary}.***",
        f"v1.{ring.primary}.",
    ):
        with pytest.raises(CorruptField):
            decrypt_field(ring, bad)
    with pytest.raises(UnknownKey):
        decrypt_field(ring, f"v1.gone.{body}")


def test_reencrypt_tokens_moves_only_stale_rows() -> None:
    ring = KeyRing.generate()
    rows = [(1, encrypt_field(ring, "tax-1")), (2, None)]
    ring.promote(ring.add_key())
    rows.append((3, encrypt_field(ring, "tax-3")))
    changed = dict(reencrypt_tokens(ring, rows))
    assert list(changed) == [1]
    assert field_kid(changed[1]) == ring.primary
    assert decrypt_field(ring, changed[1]) == "tax-1"


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    app = Flask("crypto-test", instance_path=str(tmp_path / "instance"))
    app.config.update(KEYRING=None, KEYRING_AUTOCREATE=True)
    return app


def invoice_table() -> tuple[sa.Table, sa.Engine]:
    metadata = sa.MetaData()
    table = sa.Table(
        "invoice",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tax_number", EncryptedText),
        sa.Column("bank_account", EncryptedText, nullable=True),
    )
    engine = sa.create_engine("sqlite://")
    metadata.create_all(engine)
    return table, engine


def test_encrypted_column_stores_tokens_and_loads_plaintext(app: Flask) -> None:
    table, engine = invoice_table()
    with app.app_context(), engine.begin() as conn:
        conn.execute(table.insert(), [{"id": 1, "tax_number": "91310000MA1FL8XQ3T"}])
        raw = conn.execute(sa.text("SELECT tax_number, bank_account FROM invoice")).one()
        assert raw.tax_number.startswith("v1.") and "91310000MA1FL8XQ3T" not in raw.tax_number
        assert raw.bank_account is None
        row = conn.execute(sa.select(table)).one()
        assert row.tax_number == "91310000MA1FL8XQ3T" and row.bank_account is None


def test_rotation_reencrypts_columns_and_then_allows_retiring(app: Flask) -> None:
    table, engine = invoice_table()
    with app.app_context():
        ring = get_keyring(app)
        old = ring.primary
        with engine.begin() as conn:
            conn.execute(
                table.insert(),
                [{"id": i, "tax_number": f"TAX-{i}", "bank_account": f"ACC-{i}"} for i in range(5)],
            )
        ring.promote(ring.add_key())
        with engine.begin() as conn:

            def in_use(kid: str) -> bool:
                columns = (table.c.tax_number, table.c.bank_account)
                return any(column_uses_key(conn, column, kid) for column in columns)

            with pytest.raises(KeyInUse):
                ring.retire(old, in_use=in_use)
            assert reencrypt_column(conn, table.c.tax_number, ring) == 5
            assert reencrypt_column(conn, table.c.bank_account, ring) == 5
            assert reencrypt_column(conn, table.c.tax_number, ring) == 0
            ring.retire(old, in_use=in_use)
        with engine.connect() as conn:
            rows = conn.execute(sa.select(table).order_by(table.c.id)).all()
        assert [r.tax_number for r in rows] == [f"TAX-{i}" for i in range(5)]
        assert [r.bank_account for r in rows] == [f"ACC-{i}" for i in range(5)]


def test_key_ids_with_like_wildcards_are_matched_exactly() -> None:
    keys = {
        "kx1": base64.b64encode(b"A" * 32).decode(),
        "k_1": base64.b64encode(b"B" * 32).decode(),
    }
    ring = KeyRing.from_json(json.dumps({"primary": "kx1", "keys": keys}))
    table, engine = invoice_table()
    with engine.begin() as conn:
        token = encrypt_field(ring, "TAX-under-kx1")
        conn.execute(sa.insert(table).values(id=1, tax_number=sa.type_coerce(token, sa.Text)))
        assert not column_uses_key(conn, table.c.tax_number, "k_1")
        ring.promote("k_1")
        assert reencrypt_column(conn, table.c.tax_number, ring) == 1
        stored = conn.execute(sa.select(sa.type_coerce(table.c.tax_number, sa.Text))).scalar_one()
    assert field_kid(stored) == "k_1" and decrypt_field(ring, stored) == "TAX-under-kx1"
