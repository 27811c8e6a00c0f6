// A closed binary STL cube (12 triangles), as a CAD program would export a simple part.
function cubeStl(size = 20) {
  const s = size
  const v = [[0, 0, 0], [s, 0, 0], [s, s, 0], [0, s, 0], [0, 0, s], [s, 0, s], [s, s, s], [0, s, s]]
  const faces = [
    [0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4],
    [1, 2, 6], [1, 6, 5], [2, 3, 7], [2, 7, 6], [3, 0, 4], [3, 4, 7],
  ]
  const out = Buffer.alloc(84 + faces.length * 50)
  out.write('e2e cube'.padEnd(80, ' '), 0, 'ascii')
  out.writeUInt32LE(faces.length, 80)
  faces.forEach((face, i) => {
    const at = 84 + i * 50
    for (let k = 0; k < 3; k += 1) out.writeFloatLE(0, at + k * 4)
    face.forEach((vertex, j) => v[vertex].forEach((c, k) => out.writeFloatLE(c, at + 12 + j * 12 + k * 4)))
    out.writeUInt16LE(0, at + 48)
  })
  return out
}

module.exports = { cubeStl }
