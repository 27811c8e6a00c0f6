const { loadComponent, textOf, installWx, fakeApi, simulate } = require('./harness')
const { catalogue, options } = require('./catalogue_fixture')

beforeEach(() => installWx(fakeApi({})))

test('the price tag shows its label and the amount', () => {
  const tag = simulate.render(loadComponent('price-tag'), { label: '合计', value: '¥1,234.50', strong: true })
  expect(textOf(tag.querySelector('.label'))).toBe('合计')
  expect(textOf(tag.querySelector('.value'))).toBe('¥1,234.50')
  expect(tag.querySelector('.price-tag').dom.className).toContain('strong')
})

test('the privacy panel uses the official agree button and reports the choice', async () => {
  const panel = simulate.render(loadComponent('privacy-panel'), { name: '《Xometry 隐私保护指引》' })
  panel.attach(document.createElement('parent-wrapper'))
  expect(textOf(panel)).toContain('《Xometry 隐私保护指引》')
  const agree = panel.querySelector('#agree-privacy')
  expect(agree.data.openType).toBe('agreePrivacyAuthorization')
  const seen = []
  panel.addEventListener('agree', () => seen.push('agree'))
  panel.addEventListener('disagree', () => seen.push('disagree'))
  agree.dispatchEvent('agreeprivacyauthorization')
  panel.querySelector('#disagree-privacy').dispatchEvent('tap')
  await simulate.sleep(10) // events reach the page after the tap's turn
  expect(seen).toEqual(['agree', 'disagree'])
})

test('part options show names, never codes, and a choice is sent as its code', async () => {
  const i18n = require('../utils/i18n')
  const comp = simulate.render(loadComponent('part-options'), { catalogue, options, t: i18n.strings() })
  comp.attach(document.createElement('parent-wrapper'))
  const shown = textOf(comp)
  expect(shown).toContain('CNC 加工')
  expect(shown).toContain('铝合金 6061')
  expect(shown).not.toContain('al6061')
  const changes = []
  comp.addEventListener('change', (e) => changes.push(e.detail.options))
  expect(shown).toContain('阳极氧化')
  // stainless steel cannot be anodized: the finish becomes one offered for it
  comp.instance.onPick({ currentTarget: { dataset: { field: 'material' } }, detail: { value: 1 } })
  expect(changes[0]).toMatchObject({ process: 'cnc', material: 'ss304', finish: 'none', quantity: 5 })
  // a new process brings a material and finish that exist for it
  comp.instance.onPick({ currentTarget: { dataset: { field: 'process' } }, detail: { value: 1 } })
  expect(changes[1]).toMatchObject({ process: 'sla', material: 'resin', finish: 'sanded' })
  comp.instance.onQuantity({ detail: { value: '12' } })
  expect(changes[2]).toMatchObject({ quantity: 12 })
  comp.instance.onThreads({ detail: { value: '4' } })
  expect(changes[3]).toMatchObject({ threads: 4 })
  comp.instance.onThreads({ detail: { value: '5000' } }) // beyond the catalogue's range: not sent
  expect(changes).toHaveLength(4)
  expect(textOf(comp)).toContain('螺纹孔数量')
})
