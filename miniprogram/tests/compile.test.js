// Every WXML and WXSS file as WeChat's own compilers (wcc, wcsc — the binaries WeChat DevTools
// uses, shipped in miniprogram-compiler) read them: a syntax error fails here, not on a phone.
const fs = require('fs')
const path = require('path')
const compiler = require('miniprogram-compiler')
const { ROOT } = require('./harness')

const app = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'))

test('the WXML compiles with wcc, the bindings of every page included', () => {
  const js = compiler.wxmlToJs(ROOT)
  for (const key of ['signin_button', 'go-signin', 'upload_from_chat', 'agreePrivacyAuthorization', 'getPhoneNumber']) {
    expect(js).toContain(`'${key}'`)
  }
})

test('the WXSS of the app, every page and component compiles with wcsc', () => {
  const js = compiler.wxssToJs(ROOT)
  expect(js).toContain("'app.wxss'")
  for (const page of app.pages) expect(js).toContain(`'${page}.wxss'`)
  for (const name of ['privacy-panel', 'price-tag', 'part-options']) expect(js).toContain(`'components/${name}/${name}.wxss'`)
})

test('every page of app.json has its four files and a logic module', () => {
  for (const page of app.pages) {
    for (const ext of ['js', 'wxml', 'wxss', 'json']) expect([page, fs.existsSync(path.join(ROOT, `${page}.${ext}`))]).toEqual([page, true])
    expect(fs.existsSync(path.join(ROOT, 'logic', `${path.basename(page)}.js`))).toBe(true)
  }
})
