// The pickers' choices from GET /catalogue ({code, name} everywhere, materials per process),
// and the names of a part's chosen options — customers see names, never codes.
const FIELDS = ['process', 'material', 'finish', 'tolerance', 'threads', 'inspection']
const KEYS = {
  process: ['processes'],
  material: ['materials'],
  finish: ['finishes'],
  tolerance: ['tolerances'],
  threads: ['threads'],
  inspection: ['inspections', 'inspection'],
  lead_time: ['lead_times', 'lead_time'],
}

function listOf(catalogue, field, process) {
  if (!catalogue) return []
  let found = null
  for (const key of KEYS[field] || [field]) {
    if (catalogue[key] !== undefined) {
      found = catalogue[key]
      break
    }
  }
  if (!found) return []
  if (!Array.isArray(found)) found = (process && found[process]) || []
  return found
    .filter((item) => !process || field === 'process' || !item.process || item.process === process ||
      (Array.isArray(item.processes) && item.processes.includes(process)))
    .map((item) => ({ code: String(item.code), name: item.name }))
}

function nameOf(catalogue, field, code, process) {
  const found = listOf(catalogue, field, process).find((item) => item.code === String(code))
  return found ? found.name : ''
}

// For a part's options: each field's choices, chosen index and name.
function pickers(catalogue, options) {
  const process = options.process
  return FIELDS.map((field) => {
    const choices = listOf(catalogue, field, process)
    const index = choices.findIndex((item) => item.code === String(options[field]))
    return { field, choices, names: choices.map((c) => c.name), index, name: index >= 0 ? choices[index].name : '' }
  })
}

module.exports = { FIELDS, listOf, nameOf, pickers }
