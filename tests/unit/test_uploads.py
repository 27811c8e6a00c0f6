"""services.uploads: leading-byte checks and the streaming multipart receiver, without the app."""

from __future__ import annotations

import io
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xometry_site.quotes.downloads import content_disposition
from xometry_site.services.keyring import KeyRing
from xometry_site.services.quotes.file_types import check_signature, extension_of
from xometry_site.services.quotes.uploads import (
    UploadInterrupted,
    UploadLimits,
    UploadReceiver,
    UploadRefused,
    UploadTooLarge,
    clean_filename,
    receive_upload,
)
from xometry_site.services.storage import LocalStorage
from xometry_site.services.vault import open_decrypted

LIMITS = UploadLimits(max_file_size=64 * 1024, max_files=3, max_form_memory=4096, max_parts=20)


def binary_stl(triangles: int = 2) -> bytes:
    return b"\0" * 80 + struct.pack("<I", triangles) + b"\1" * 50 * triangles


IGES = b"Start of an IGES file".ljust(72) + b"S      1\r\n" + b"1H,,1H;".ljust(72) + b"G      1\r\n"
GOOD = {
    "pdf": b"%PDF-1.7\n...",
    "3mf": b"PK\x03\x04\x14\x00rest of zip",
    "sldprt": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100,
    "dwg": b"AC1032\0\0\0\0",
    "step": b"\xef\xbb\xbf  ISO-10303-21;\nHEADER;",
    "iges": IGES,
    "stl": binary_stl(),
    "obj": b"# Blender\nmtllib cube.mtl\no Cube\nv 1.0 1.0 -1.0\nf 1 2 3\n",
    "x_t": b"**ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz**************************\n**PART1;",
    "x_b": b"PS\0\0\0\x01binary parasolid",
    "dxf": b"  0\r\nSECTION\r\n  2\r\nHEADER\r\n",
}


@pytest.mark.parametrize("fmt", sorted(GOOD))
def test_genuine_leading_bytes_pass(fmt):
    data = GOOD[fmt]
    assert check_signature(fmt, data[:4096], len(data))


@pytest.mark.parametrize(
    ("fmt", "data"),
    [
        ("pdf", b"<html>%PDF-1.4"[:5] + b" no"),
        ("3mf", b"%PDF-1.4"),
        ("sldprt", b"%PDF-1.4"),
        ("sldprt", b"plain text pretending"),
        ("dwg", b"PK\x03\x04"),
        ("step", b"HEADER; no magic"),
        ("iges", b"short line\n"),
        ("stl", binary_stl()[:-1]),  # size ≠ 84 + 50·count
        ("stl", b"MZ\x90\0" + b"\0" * 200),
        ("obj", b"\x7fELF\x02\x01"),
        ("obj", b"<!doctype html><script>"),
        ("x_t", b"%PDF-1.4"),
        ("x_b", b"MZ"),
        ("dxf", b"<svg onload=alert(1)>"),
    ],
)
def test_spoofed_leading_bytes_fail(fmt, data):
    assert not check_signature(fmt, data[:4096], len(data))


def test_ascii_stl_passes():
    data = b"solid part\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\n"
    assert check_signature("stl", data, len(data))


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("C:\\Users\\王\\零件.STEP", "零件.STEP"),
        ("../../etc/passwd", "passwd"),
        ("a\x00b\nc.stl", "abc.stl"),
        ("  spaced.stl ", "spaced.stl"),
        (None, ""),
    ],
)
def test_file_names_are_metadata_only(raw, clean):
    assert clean_filename(raw) == clean


def test_extension_of():
    assert extension_of("part.X_T") == "x_t"
    assert extension_of(".stl") == ""
    assert extension_of("noext") == ""


def test_content_disposition_rfc6266():
    value = content_disposition('零件 "A";.step')
    assert value.startswith('attachment; filename="')
    assert "filename*=UTF-8''%E9%9B%B6%E4%BB%B6%20%22A%22%3B.step" in value
    fallback = value.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback.isascii() and '"' not in fallback and ";" not in fallback


# --- the receiver --------------------------------------------------------------------------


@pytest.fixture
def storage(tmp_path):
    return LocalStorage(tmp_path / "blobs")


@pytest.fixture
def ring():
    return KeyRing.generate()


def body(fields, files, boundary="BoUnDaRy"):
    out = bytearray()
    for name, value in fields:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for filename, data in files:
        out += f"--{boundary}\r\n".encode()
        out += f'Content-Disposition: form-data; name="files"; filename="{filename}"\r\n'.encode()
        out += b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def everything_in(storage) -> list:
    return [p for p in storage.root.rglob("*") if p.is_file()]


def receive(storage, ring, fields, files, read_size=65536, **kwargs):
    data, headers = body(fields, files)
    return receive_upload(
        io.BytesIO(data), headers, storage, ring, LIMITS, read_size=read_size, **kwargs
    )


@pytest.mark.parametrize("read_size", [1, 7, 1000, 65536])
def test_fields_and_files_arrive_whatever_the_read_size(storage, ring, read_size):
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\r\n--not-the-boundary\r\n"
    result = receive(
        storage, ring, [("process", "sla"), ("notes", "公差 ±0.1"), ("finish", "")],
        [("a.pdf", pdf), ("b.stl", binary_stl(3))], read_size=read_size,
    )  # fmt: skip
    assert result.fields == {"process": "sla", "notes": "公差 ±0.1", "finish": ""}
    assert [(f.filename, f.extension) for f in result.files] == [("a.pdf", "pdf"), ("b.stl", "stl")]
    stored = result.files[0].stored
    assert stored.size == len(pdf)
    plain = b"".join(open_decrypted(storage, ring, stored.blob_id, stored.kid, stored.wrapped_dek))
    assert plain == pdf
    assert all(pdf[9:60] not in p.read_bytes() for p in everything_in(storage))


def receiver(storage, ring, fields, files, read_size=65536):
    data, headers = body(fields, files)
    return UploadReceiver(io.BytesIO(data), headers, storage, ring, LIMITS, read_size=read_size)


@pytest.mark.parametrize("read_size", [1, 7, 65536])
def test_the_fields_before_the_first_file_come_first_and_nothing_is_stored_yet(
    storage, ring, read_size
):
    with receiver(storage, ring, [("csrf_token", "t")], [("a.stl", binary_stl())],
                  read_size) as upload:  # fmt: skip
        seen = upload.read_fields()
        assert seen == {"csrf_token": "t"}
        assert everything_in(storage) == []  # the caller refuses here: nothing to clean up
        assert not upload.body_read  # ... and the answer ends the connection
    assert everything_in(storage) == []


def test_the_fields_come_whole_when_there_is_no_file(storage, ring):
    with receiver(storage, ring, [("csrf_token", "t")], []) as upload:
        calls = [upload.read_fields()]
        assert upload.body_read
        assert upload.read_files().files == []
    assert calls == [{"csrf_token": "t"}]


def test_an_exception_in_the_block_destroys_every_blob_of_the_request(storage, ring):
    class CommitFailed(Exception):
        pass

    with pytest.raises(CommitFailed), receiver(storage, ring, [("csrf_token", "t")],
                                               [("a.stl", binary_stl())]) as upload:  # fmt: skip
        upload.read_fields()
        assert len(upload.read_files().files) == 1
        assert everything_in(storage) != []
        raise CommitFailed()
    assert everything_in(storage) == []


@pytest.mark.parametrize("read_ahead", [True, False])
def test_a_refusal_reads_no_further(storage, ring, read_ahead):
    data, headers = body([("csrf_token", "t")], [("big.stl", binary_stl() + b"\0" * 600_000)])
    stream = io.BytesIO(data)
    with pytest.raises(UploadTooLarge), UploadReceiver(stream, headers, storage, ring, LIMITS,
                                                       4096, read_ahead) as upload:  # fmt: skip
        upload.read_fields()
        upload.read_files()
    assert not upload.body_read
    assert len(stream.read()) > 500_000  # the rest is left for the server to drop
    assert everything_in(storage) == []


def test_a_text_field_after_the_files_is_refused_and_nothing_kept(storage, ring):
    data, headers = body([("csrf_token", "t")], [("a.stl", binary_stl())])
    late = b'--BoUnDaRy\r\nContent-Disposition: form-data; name="notes"\r\n\r\nlate\r\n'
    data = data.replace(b"--BoUnDaRy--", late + b"--BoUnDaRy--")
    with pytest.raises(UploadRefused) as info:
        receive_upload(io.BytesIO(data), headers, storage, ring, LIMITS)
    assert info.value.code == "malformed"
    assert everything_in(storage) == []


@pytest.mark.parametrize(
    ("files", "error", "code"),
    [
        ([("ok.stl", binary_stl()), ("x.exe", b"MZ")], UploadRefused, "bad_extension"),
        ([("ok.stl", binary_stl()), ("x.pdf", b"GIF89a")], UploadRefused, "bad_content"),
        ([("ok.stl", binary_stl()), ("x.pdf", b"")], UploadRefused, "empty_file"),
        ([("ok.stl", binary_stl())] * 4, UploadRefused, "too_many_files"),
        ([("ok.stl", binary_stl()), ("big.pdf", b"%PDF-" + b"0" * 70000)], UploadTooLarge,
         "file_too_large"),
    ],
)  # fmt: skip
def test_refusals_leave_no_blob_and_no_temp_file(storage, ring, files, error, code):
    with pytest.raises(error) as info:
        receive(storage, ring, [], files)
    assert info.value.code == code
    assert everything_in(storage) == []


@pytest.mark.parametrize("read_ahead", [True, False])
def test_spoofed_big_file_is_refused_after_its_first_bytes(storage, ring, read_ahead):
    class Counting(io.BytesIO):
        read_total = 0

        def read(self, n=-1):
            chunk = super().read(n)
            Counting.read_total += len(chunk)
            return chunk

    limits = UploadLimits(max_file_size=10**7, max_files=1)
    data, headers = body([], [("fake.step", b"MZ" + b"\0" * 600_000)])
    with pytest.raises(UploadRefused):
        receive_upload(Counting(data), headers, storage, ring, limits, read_size=4096,
                       read_ahead=read_ahead)  # fmt: skip
    assert Counting.read_total < 64 * 1024  # the first 4 KB decide, not the whole 600 KB
    assert everything_in(storage) == []


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.95, 0.999])
def test_a_body_cut_anywhere_is_interrupted_and_leaves_nothing(storage, ring, cut):
    data, headers = body([("process", "sla")], [("a.stl", binary_stl(600)), ("b.pdf", b"%PDF" * 9)])
    with pytest.raises(UploadInterrupted):
        receive_upload(io.BytesIO(data[: int(len(data) * cut)]), headers, storage, ring, LIMITS)
    assert everything_in(storage) == []


def test_a_failing_stream_is_interrupted(storage, ring):
    data, headers = body([], [("a.stl", binary_stl(600))])

    class Failing(io.BytesIO):
        def read(self, n=-1):
            if self.tell() > 10000:
                raise ConnectionResetError("peer went away")
            return super().read(n)

    with pytest.raises(UploadInterrupted):
        receive_upload(Failing(data), headers, storage, ring, LIMITS, read_size=4096)
    assert everything_in(storage) == []


def test_form_memory_and_part_limits(storage, ring):
    with pytest.raises(UploadTooLarge):
        receive(storage, ring, [("notes", "x" * 5000)], [])
    with pytest.raises(UploadTooLarge):
        receive(storage, ring, [(f"f{i}", "x") for i in range(25)], [])


def test_not_multipart_is_refused(storage, ring):
    with pytest.raises(UploadRefused):
        receive_upload(io.BytesIO(b"a=b"), {"Content-Type": "application/x-www-form-urlencoded"},
                       storage, ring, LIMITS)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=3000), st.integers(min_value=1, max_value=5000))
def test_arbitrary_bodies_never_leave_files_behind(tmp_path_factory, data, read_size):
    """Fuzz: any body is either a clean result or an UploadRefused, and refusals store nothing."""
    storage = LocalStorage(tmp_path_factory.mktemp("fuzz"))
    ring = KeyRing.generate()
    prefix, headers = body([("process", "sla")], [])
    try:
        result = receive_upload(io.BytesIO(prefix[:40] + data), headers, storage, ring, LIMITS,
                                read_size=read_size)  # fmt: skip
    except UploadRefused:
        assert everything_in(storage) == []
    else:
        assert len(everything_in(storage)) == len(result.files)
