// The catalogue and a part's options as GET /catalogue and GET /quotes/<ref> give them (names, never codes, on the page).
const catalogue = {
  processes: [
    {
      code: 'cnc', name: 'CNC 加工', instant: true, lead_days: { standard: 10, expedited: 5 },
      materials: [{ code: 'al6061', name: '铝合金 6061' }, { code: 'ss304', name: '不锈钢 304' }],
      finishes: [{ code: 'none', name: '原始状态', materials: null }, { code: 'anodize', name: '阳极氧化', materials: ['al6061'] }],
    },
    {
      code: 'sla', name: '光固化 3D 打印', instant: true, lead_days: { standard: 5, expedited: 3 },
      materials: [{ code: 'resin', name: '标准树脂' }],
      finishes: [{ code: 'sanded', name: '打磨', materials: null }],
    },
  ],
  tolerances: [{ code: 'iso2768m', name: 'ISO 2768-m 中等', review: false }],
  threads: { name: '螺纹孔数量', min: 0, max: 1000, instant_max: 20 },
  inspections: [{ code: 'standard', name: '标准检验' }],
  lead_times: [{ code: 'standard', name: '标准（10 天）' }, { code: 'expedited', name: '加急（5 天）' }],
  defaults: { process: 'cnc', material: 'al6061', quantity: 1 },
}
const options = { process: 'cnc', material: 'al6061', finish: 'anodize', quantity: 5, tolerance: 'iso2768m', threads: 0, inspection: 'standard' }

module.exports = { catalogue, options }
