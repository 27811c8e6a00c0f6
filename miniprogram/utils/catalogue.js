// The pickers' choices from GET /catalogue — processes, each with its materials and finishes (a
// finish may be offered for some materials only), tolerances, inspections, lead times, and the
// range of tapped holes — and the names of a part's options: customers see names, never codes.
const FIELDS = ['process', 'material', 'finish', 'tolerance', 'inspection']

function processOf(catalogue, code) {
  return ((catalogue && catalogue.processes) || []).find((p) => p.code === code) || null
}

function named(items) {
  return (items || []).map((item) => ({ code: String(item.code), name: item.name }))
}

// The choices for one field, given the other options (the process decides materials and
// finishes, the material which finishes).
function listOf(catalogue, field, options = {}) {
  if (!catalogue) return []
  const process = processOf(catalogue, options.process)
  switch (field) {
    case 'process':
      return named(catalogue.processes)
    case 'material':
      return named(process && process.materials)
    case 'finish':
      return named(
        ((process && process.finishes) || []).filter(
          (f) => !f.materials || !options.material || f.materials.includes(options.material)
        )
      )
    case 'tolerance':
      return named(catalogue.tolerances)
    case 'inspection':
      return named(catalogue.inspections)
    case 'lead_time':
      return named(catalogue.lead_times)
    default:
      return []
  }
}

function nameOf(catalogue, field, options) {
  const found = listOf(catalogue, field, options).find((item) => item.code === String(options[field]))
  return found ? found.name : ''
}

// For a part's options: each field's choices, chosen index and name.
function pickers(catalogue, options) {
  return FIELDS.map((field) => {
    const choices = listOf(catalogue, field, options)
    const index = choices.findIndex((item) => item.code === String(options[field]))
    return { field, choices, names: choices.map((c) => c.name), index, name: index >= 0 ? choices[index].name : '' }
  })
}

// After a change, options that the new process or material does not offer become its first.
function settle(catalogue, options) {
  const settled = { ...options }
  for (const field of ['material', 'finish']) {
    const choices = listOf(catalogue, field, settled)
    if (choices.length && !choices.some((c) => c.code === String(settled[field]))) settled[field] = choices[0].code
  }
  return settled
}

function threads(catalogue) {
  const found = (catalogue && catalogue.threads) || {}
  return { name: found.name || '', min: found.min || 0, max: found.max || 1000 }
}

module.exports = { FIELDS, listOf, nameOf, pickers, settle, threads }
