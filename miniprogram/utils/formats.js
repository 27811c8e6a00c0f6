// The drawing formats the site prices (xometry_site/services/quotes/file_types.py), checked here
// so a wrong file is explained before it is sent.
const FORMATS = ['step', 'stp', 'iges', 'igs', 'stl', '3mf', 'obj', 'x_t', 'x_b', 'sldprt', 'dxf', 'dwg', 'pdf']

function extensionOf(name) {
  const dot = (name || '').lastIndexOf('.')
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : ''
}

function accepted(name) {
  return FORMATS.includes(extensionOf(name))
}

module.exports = { FORMATS, extensionOf, accepted }
