const fs = require('fs')
const path = require('path')
const { installWx, fakeApi, ROOT } = require('./harness')
const i18n = require('../utils/i18n')

function files(dir, ext) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return files(full, ext)
    return full.endsWith(ext) ? [full] : []
  })
}

test('both languages have the same strings and none is empty', () => {
  const zh = Object.keys(i18n.TABLES.zh).sort()
  const en = Object.keys(i18n.TABLES.en).sort()
  expect(en).toEqual(zh)
  for (const table of [i18n.TABLES.zh, i18n.TABLES.en]) {
    for (const [key, text] of Object.entries(table)) expect([key, text.trim().length > 0]).toEqual([key, true])
  }
})

test('every string a page, component or module shows exists in both languages', () => {
  const used = new Set()
  const sources = ['pages', 'components', 'logic', 'utils'].flatMap((dir) => [
    ...files(path.join(ROOT, dir), '.wxml'),
    ...files(path.join(ROOT, dir), '.js'),
  ])
  for (const file of sources) {
    const text = fs.readFileSync(file, 'utf8')
    for (const m of text.matchAll(/\{\{[^}]*?\bt\.([a-z_]+)/g)) used.add(m[1])
    for (const m of text.matchAll(/\bt\.([a-z_]+)\b/g)) if (file.endsWith('.wxml')) used.add(m[1])
    for (const m of text.matchAll(/i18n\.t\('([a-z_]+)'/g)) used.add(m[1])
    for (const m of text.matchAll(/titleKey: '([a-z_]+)'/g)) used.add(m[1])
  }
  for (const field of ['process', 'material', 'finish', 'tolerance', 'threads', 'inspection']) used.add(`option_${field}`)
  for (const code of ['none', 'company', 'individual', 'education', 'other']) used.add(`customer_type_${code}`)
  for (const code of ['none', 'zh_CN', 'en']) used.add(`language_${code}`)
  expect(used.size).toBeGreaterThan(100)
  const missing = [...used].filter((key) => !(key in i18n.TABLES.zh) || !(key in i18n.TABLES.en))
  expect(missing).toEqual([])
})

test('no page shows Latin-only text of its own: the WXML is bindings and markup only', () => {
  for (const file of files(path.join(ROOT, 'pages'), '.wxml').concat(files(path.join(ROOT, 'components'), '.wxml'))) {
    const text = fs.readFileSync(file, 'utf8').replace(/\{\{[\s\S]*?\}\}/g, '').replace(/<[^>]+>/g, '')
    expect([path.basename(file), text.replace(/[\s·×:–-]/g, '')]).toEqual([path.basename(file), ''])
  }
})

test('the language follows WeChat, and a stored preference wins', () => {
  installWx(fakeApi({}), { getAppBaseInfo: () => ({ language: 'en' }) })
  expect(i18n.lang()).toBe('en')
  expect(i18n.acceptLanguage()).toBe('en')
  installWx(fakeApi({}), { getAppBaseInfo: () => ({ language: 'zh_CN' }) })
  expect(i18n.lang()).toBe('zh')
  expect(i18n.t('sign_out')).toBe('退出登录')
  i18n.setLang('en')
  expect(i18n.init()).toBe('en') // the stored choice, not WeChat's Chinese
  expect(i18n.t('sign_out')).toBe('Sign out')
  expect(i18n.t('upload_wrong_format', { formats: 'STL' })).toContain('(STL)')
})
