// Reads the 3D viewer's mesh, format version 1, as written by
// xometry_site/services/quotes/viewer_mesh.py (the browser has already inflated the gzip):
// a 40-byte header, uint16 quantised positions, padding to 4 bytes, uint32 triangle indices.

const MAGIC = 0x48534d58; // "XMSH" read as a little-endian uint32
const VERSION = 1;
const HEADER_BYTES = 40;

/** Positions in mm (Float32Array, x y z per vertex) and triangle indices (Uint32Array). */
export function parseMesh(buffer) {
  const view = new DataView(buffer);
  if (
    buffer.byteLength < HEADER_BYTES ||
    view.getUint32(0, true) !== MAGIC ||
    view.getUint16(4, true) !== VERSION
  ) {
    throw new Error("not a viewer mesh of this version");
  }
  const vertices = view.getUint32(8, true);
  const triangles = view.getUint32(12, true);
  const origin = [0, 1, 2].map((axis) => view.getFloat32(16 + 4 * axis, true));
  const step = [0, 1, 2].map((axis) => view.getFloat32(28 + 4 * axis, true));
  const positionBytes = 6 * vertices;
  const indexStart = HEADER_BYTES + positionBytes + ((4 - (positionBytes % 4)) % 4);
  if (buffer.byteLength !== indexStart + 12 * triangles) {
    throw new Error("the mesh's length does not match its counts");
  }
  const quantised = new Uint16Array(buffer, HEADER_BYTES, 3 * vertices);
  const indices = new Uint32Array(buffer, indexStart, 3 * triangles);
  for (let i = 0; i < indices.length; i++) {
    if (indices[i] >= vertices) throw new Error("an index points past the vertices");
  }
  const positions = new Float32Array(3 * vertices);
  for (let i = 0; i < quantised.length; i++) {
    const axis = i % 3;
    positions[i] = origin[axis] + quantised[i] * step[axis];
  }
  return { positions, indices };
}
