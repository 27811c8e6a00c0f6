"""The 3D viewer's mesh: the preview's triangles, indexed, quantised to 16 bits and gzipped.

Phones in WeChat fetch it over mobile networks, so it is small: corners equal after quantisation
become one vertex (a closed mesh has about half as many vertices as triangles), vertices are
numbered in order of first use so the indices stay near each other and compress well, and the
whole is gzipped (it is served as `Content-Encoding: gzip`, which every browser undoes itself).
Quantising to 65,536 steps per axis moves a corner by at most 1/131,070 of the part's extent
(0.004 mm on a 500 mm part), which no one sees.

Format, version 1, little-endian (read by assets/mesh_format.js):

    offset  size  field
         0     4  magic b"XMSH"
         4     2  uint16 version (1)
         6     2  uint16 reserved (0)
         8     4  uint32 V, vertices
        12     4  uint32 T, triangles
        16    12  float32[3] origin: the minimum corner, mm
        28    12  float32[3] step: mm per quantum along x, y, z
        40    6V  uint16[V][3] positions: origin + q × step
         …  0 or 2  padding to a multiple of 4
         …   12T  uint32[T][3] vertex indices, in the drawing's winding
"""

from __future__ import annotations

import gzip
import struct

import numpy as np

MAGIC = b"XMSH"
VERSION = 1
HEADER = struct.Struct("<4sHHII3f3f")
QUANTA = 65535
GZIP_LEVEL = 6  # the default of gzip(1): most of level 9's gain for a third of its time


class MeshFormatError(ValueError):
    """Bytes that are not a viewer mesh this version can read."""


def encode(triangles: np.ndarray) -> bytes | None:
    """The gzipped viewer mesh of (n, 3, 3) triangles in mm, or None when none is left to show."""
    tris = np.asarray(triangles, dtype=np.float64).reshape(-1, 3, 3)
    tris = tris[np.all(np.isfinite(tris), axis=(1, 2))]
    if not len(tris):
        return None
    corners = tris.reshape(-1, 3)
    origin = corners.min(axis=0)
    step = (corners.max(axis=0) - origin) / QUANTA
    step[step == 0] = 1.0  # a flat axis: every corner is at quantum 0 anyway
    quantised = np.rint((corners - origin) / step).astype(np.uint64)
    key = (quantised[:, 0] << np.uint64(32)) | (quantised[:, 1] << np.uint64(16)) | quantised[:, 2]
    _unique, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    by_first_use = np.argsort(first, kind="stable")  # vertex numbers in order of first use
    renumber = np.empty_like(by_first_use)
    renumber[by_first_use] = np.arange(len(by_first_use))
    indices = renumber[inverse.reshape(-1)].reshape(-1, 3)
    collapsed = (
        (indices[:, 0] == indices[:, 1])
        | (indices[:, 1] == indices[:, 2])
        | (indices[:, 0] == indices[:, 2])
    )
    indices = indices[~collapsed]
    if not len(indices):
        return None
    positions = quantised[first[by_first_use]].astype("<u2")
    header = HEADER.pack(
        MAGIC, VERSION, 0, len(positions), len(indices), *origin.tolist(), *step.tolist()
    )
    body = positions.tobytes()
    padding = b"\0" * (-len(body) % 4)
    raw = header + body + padding + indices.astype("<u4").tobytes()
    return gzip.compress(raw, GZIP_LEVEL, mtime=0)


def decode(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(positions (V, 3) float32 in mm, indices (T, 3) uint32) of a gzipped viewer mesh."""
    try:
        raw = gzip.decompress(data)
    except (OSError, EOFError) as exc:
        raise MeshFormatError("not gzip") from exc
    if len(raw) < HEADER.size:
        raise MeshFormatError("shorter than its header")
    magic, version, _reserved, vertices, triangles, *numbers = HEADER.unpack_from(raw)
    if magic != MAGIC or version != VERSION:
        raise MeshFormatError("not a viewer mesh of this version")
    start = HEADER.size
    end = start + 6 * vertices
    index_start = end + (-end % 4)
    if len(raw) != index_start + 12 * triangles:
        raise MeshFormatError("its length does not match its counts")
    quantised = np.frombuffer(raw, "<u2", count=3 * vertices, offset=start).reshape(-1, 3)
    indices = np.frombuffer(raw, "<u4", count=3 * triangles, offset=index_start).reshape(-1, 3)
    if len(indices) and int(indices.max()) >= vertices:
        raise MeshFormatError("an index points past the vertices")
    origin = np.array(numbers[:3], np.float64)
    step = np.array(numbers[3:], np.float64)
    return (origin + quantised * step).astype(np.float32), indices.astype(np.uint32)
