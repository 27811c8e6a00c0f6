// Test support: a `wx` whose network calls go to an in-test fake of the site's API (the real
// site is exercised by e2e/), pages rendered from their WXML with their real logic through
// miniprogram-simulate, and a bare page instance (setData with WeChat's path keys).
const fs = require('fs')
const path = require('path')
const simulate = require('miniprogram-simulate')

const ROOT = path.join(__dirname, '..')

const { mount } = require('./mount')

// A component's JS runs once per test file (require's cache), so each is loaded once and its
// id reused.
const loaded = {}

function loadOnce(where, tag) {
  const full = path.join(ROOT, where)
  if (!loaded[full]) loaded[full] = simulate.load(full, tag, { compiler: 'simulate', rootPath: ROOT })
  return loaded[full]
}

function componentIds(jsonPath) {
  const json = JSON.parse(fs.readFileSync(jsonPath, 'utf8'))
  const ids = {}
  Object.entries(json.usingComponents || {}).forEach(([tag, where]) => {
    ids[tag] = loadOnce(where, tag)
  })
  return ids
}

// The page's WXML rendered with its logic module: methods, data, and the components it uses.
function renderPage(name) {
  const def = require(path.join(ROOT, 'logic', `${name}.js`))
  const methods = {}
  Object.keys(def).forEach((key) => {
    if (typeof def[key] === 'function') methods[key] = def[key]
  })
  const id = simulate.load({
    template: fs.readFileSync(path.join(ROOT, 'pages', name, `${name}.wxml`), 'utf8'),
    usingComponents: componentIds(path.join(ROOT, 'pages', name, `${name}.json`)),
    data: JSON.parse(JSON.stringify(def.data)),
    methods,
  })
  const page = simulate.render(id)
  page.attach(document.createElement('parent-wrapper'))
  page.instance.titleKey = def.titleKey
  page.instance.isSignIn = def.isSignIn
  return page
}

function loadComponent(name) {
  return loadOnce(`components/${name}/${name}`, name)
}

// The text a user would read in a rendered tree (whitespace collapsed).
function textOf(node) {
  return (node.dom || node).textContent.replace(/\s+/g, ' ').trim()
}

// The fake site: handlers by "METHOD /path" answering { status, body }; every call is recorded.
function fakeApi(routes) {
  const calls = []
  function answer(method, url, data, header) {
    const pathOnly = url.replace(/^https?:\/\/[^/]+\/api\/mp\/v1/, '')
    const [bare, query] = pathOnly.split('?')
    calls.push({ method, path: bare, query: query || '', data, header })
    const handler = routes[`${method} ${bare}`]
    if (!handler) return { status: 404, body: { error: { code: 'not_found', message: 'Not found.' } } }
    return typeof handler === 'function' ? handler({ data, header, query: query || '', calls }) : handler
  }
  return {
    calls,
    request(options) {
      const result = answer(options.method || 'GET', options.url, options.data, options.header || {})
      Promise.resolve(result).then((r) => {
        if (r === 'offline') options.fail({ errMsg: 'request:fail timeout' })
        else options.success({ statusCode: r.status, data: r.body, header: {} })
      })
      return { abort() {} }
    },
  }
}

const storage = new Map()

// A fresh `wx`: miniprogram-simulate's own, with storage and the network sent to `api`.
function installWx(api, extra = {}) {
  storage.clear()
  const stubs = {
    getStorageSync: (key) => (storage.has(key) ? storage.get(key) : ''),
    setStorageSync: (key, value) => storage.set(key, JSON.parse(JSON.stringify(value))),
    removeStorageSync: (key) => storage.delete(key),
    getAppBaseInfo: () => ({ language: 'zh_CN' }),
    request: jest.fn((o) => api.request(o)),
    navigateTo: jest.fn(),
    redirectTo: jest.fn(),
    reLaunch: jest.fn(),
    navigateBack: jest.fn(),
    showToast: jest.fn(),
    setNavigationBarTitle: jest.fn(),
    setClipboardData: jest.fn(),
    stopPullDownRefresh: jest.fn(),
    ...extra,
  }
  Object.assign(global.wx, stubs)
  require('../utils/i18n').init() // the language as WeChat reports it, nothing stored
  return stubs
}

function signInAs(tokens = { access_token: 'access-1', refresh_token: 'refresh-1', registered: true }) {
  storage.set('xa_tokens', tokens)
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0))

module.exports = { ROOT, mount, renderPage, loadComponent, textOf, fakeApi, installWx, signInAs, flush, storage, simulate }
