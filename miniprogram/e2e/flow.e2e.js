// End to end: the pages' own logic against the live site (SITE_URL) and the WeChat simulator
// (SIM_URL) — a new WeChat user signs in, shares the phone, consents, uploads a drawing and sees
// it priced, keeps an address, reads My data and the policy; then the same person (same
// UnionID) signs in on the website and lands in the same account.
const fs = require('fs')
const os = require('os')
const path = require('path')
const { createWx, phoneCode, postJson, send } = require('./wx_shim')
const { mount } = require('../tests/mount')
const { cubeStl } = require('./stl')

const SITE_URL = process.env.SITE_URL
const SIM_URL = process.env.SIM_URL
if (!SITE_URL || !SIM_URL) throw new Error('SITE_URL and SIM_URL must point at the live site and the WeChat simulator')

const config = require('../config')
const session = require('../utils/session')
const i18n = require('../utils/i18n')

const PHONE = `+86139${String(Date.now()).slice(-8)}`
const state = {}

function page(name) {
  return mount(require(`../logic/${name}`))
}

function lastNavigation(kind) {
  const found = global.wx.navigation.filter((n) => !kind || n.kind === kind)
  return found[found.length - 1]
}

function queryOf(url) {
  return Object.fromEntries(new URLSearchParams(url.split('?')[1] || ''))
}

beforeAll(async () => {
  config.baseUrl = `${SITE_URL.replace(/\/$/, '')}/api/mp/v1`
  // a new person on WeChat: the simulator makes one and tells its key and UnionID
  const person = await postJson(`${SIM_URL}/__sim/scan`, { new: true, nickname: 'E2E 张工' })
  expect(person.status).toBe(200)
  state.person = person.data
  const stl = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'xa-e2e-')), 'bracket.stl')
  fs.writeFileSync(stl, cubeStl(20))
  global.wx = createWx({
    simUrl: SIM_URL,
    identity: { user: state.person.user },
    files: { chat: [{ path: stl, name: 'bracket.stl', size: fs.statSync(stl).size, type: 'file' }] },
  })
  i18n.init()
})

test('a new WeChat user signs in, shares the phone number and accepts the policy', async () => {
  const signin = page('signin')
  await signin.onLoad({})
  expect(signin.data.policyTitle).not.toBe('') // the policy's title from the site
  await signin.signIn()
  expect(signin.data.error).toBe('')
  expect(signin.data.step).toBe('register') // a new person: register next
  expect(session.signedIn()).toBe(false)

  // the button before the boxes: refused on the phone, nothing sent
  await signin.onGetPhoneNumber({ detail: { code: await phoneCode(SIM_URL, PHONE) } })
  expect(signin.data.error).toBe(i18n.t('consent_missing'))

  signin.onConsentChange({ detail: { value: ['policy', 'adult'] } })
  await signin.onGetPhoneNumber({ detail: { code: await phoneCode(SIM_URL, PHONE) } })
  expect(signin.data.error).toBe('')
  expect(signin.data.step).toBe('done')
  expect(session.signedIn()).toBe(true)
  expect(lastNavigation('reLaunch').url).toBe('/pages/index/index')

  const center = page('center')
  await center.onLoad({})
  await center.onShow()
  expect(center.data.error).toBe('')
  expect(center.data.me.phone).toBe(`+86 ${PHONE.slice(3, 6)}****${PHONE.slice(-4)}`)
  expect(center.data.me.wechatBound).toBe(true)
})

test('the drawing from a chat is uploaded with progress and priced in ¥', async () => {
  const upload = page('upload')
  await upload.onLoad({})
  await upload.chooseFromChat()
  expect(upload.data.file.name).toBe('bracket.stl')
  const seen = []
  const setData = upload.setData
  upload.setData = function (patch) {
    if ('progress' in patch) seen.push(patch.progress)
    return setData.call(this, patch)
  }
  const made = await upload.submit()
  expect(upload.data.error).toBe('')
  expect(made.ref).toMatch(/^Q-/)
  expect(seen.length).toBeGreaterThan(1)
  expect(seen[seen.length - 1]).toBe(100)
  const opened = lastNavigation('redirectTo').url
  expect(opened).toBe(`/pages/quote/quote?ref=${made.ref}`)
  state.ref = made.ref

  const quote = page('quote')
  await quote.onLoad(queryOf(opened))
  expect(quote.data.error).toBe('')
  const part = quote.data.quote.parts[0]
  expect(part.filename).toMatch(/\.stl$/)
  expect(part.price.instant).toBe(true)
  expect(part.price.unitPrice).toMatch(/^¥[\d,]+\.\d\d$/)
  expect(part.price.total).toMatch(/^¥[\d,]+\.\d\d$/)
  expect(quote.data.quote.total).toMatch(/^¥[\d,]+\.\d\d$/)
  expect(quote.data.quote.processName).not.toBe(quote.raw.process) // a name, not the code

  const quotes = page('quotes')
  await quotes.onLoad({})
  await quotes.onShow()
  expect(quotes.data.quotes.map((q) => q.ref)).toEqual([made.ref])
})

test('an address is kept with the region picker codes; a wrong postal code is refused by field', async () => {
  const address = page('address')
  await address.onLoad({})
  address.onRegion({ detail: { value: ['上海市', '上海市', '浦东新区'], code: ['310000', '310100', '310115'] } })
  const type = (field, value) => address.onInput({ currentTarget: { dataset: { field } }, detail: { value } })
  type('recipient', '张工')
  type('address', '张江路 88 号')
  type('phone', PHONE.slice(3))
  type('postal_code', '2012')
  await address.save()
  expect(Object.keys(address.data.fields)).toContain('postal_code')
  type('postal_code', '201203')
  const saved = await address.save()
  expect(saved.id).toBeGreaterThan(0)
  expect(lastNavigation().kind).toBe('navigateBack')

  const list = page('addresses')
  await list.onLoad({})
  await list.onShow()
  expect(list.data.addresses).toHaveLength(1)
  expect(list.data.addresses[0].region).toContain('浦东新区')
  expect(list.data.addresses[0].is_default).toBe(true)
})

test('My data shows what is held, and the policy its edition', async () => {
  const mydata = page('mydata')
  await mydata.onLoad({})
  expect(mydata.data.error).toBe('')
  const keys = mydata.data.categories.map((c) => c.key)
  expect(keys).toContain('registration')

  const policy = page('policy')
  await policy.onLoad({})
  expect(policy.data.policy.editions).toContain(policy.data.policy.edition)
  expect(policy.data.policy.url).toMatch(/^https?:\/\//)
})

test('an expired access token is renewed once with the refresh token, which rotates', async () => {
  const api = require('../utils/api')
  const before = session.tokens()
  const lifetime = Number(process.env.ACCESS_TOKEN_SECONDS || 0)
  expect(lifetime).toBeGreaterThan(0) // the site runs with short-lived access tokens for this
  await new Promise((resolve) => setTimeout(resolve, (lifetime + 1) * 1000))
  // two requests find the token expired together: one refresh serves both
  const [me, addresses] = await Promise.all([api.get('/me'), api.get('/addresses')])
  expect(me.phone).toContain(PHONE.slice(-4))
  expect(addresses).toHaveLength(1)
  const after = session.tokens()
  expect(after.access_token).not.toBe(before.access_token)
  expect(after.refresh_token).not.toBe(before.refresh_token)
  // the spent refresh token is refused by the site (and ends that sign-in)
  const replay = await postJson(`${config.baseUrl}/session/refresh`, { refresh_token: before.refresh_token })
  expect(replay.status).toBe(401)
  expect(replay.data.error.message).toBeTruthy()
})

// The website's QR sign-in for the same WeChat person (same UnionID): the simulator issues the
// code the site's callback takes; the browser's cookies are kept by hand.
async function websiteSignIn(user) {
  const jar = new Map()
  const keep = (res) => {
    for (const line of [].concat(res.headers['set-cookie'] || [])) {
      const [pair] = line.split(';')
      const [name, value] = pair.split('=')
      jar.set(name.trim(), value)
    }
  }
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
  const get = async (url) => {
    const res = await send(url, { headers: { Cookie: cookie(), 'Accept-Language': 'zh-CN' } })
    keep(res)
    return res
  }
  const start = await get(`${SITE_URL}/auth/wechat/login`)
  expect(start.status).toBe(302)
  const authorize = new URL(start.headers.location)
  const scanned = await postJson(`${SIM_URL}/__sim/scan`, {
    user,
    redirect_uri: authorize.searchParams.get('redirect_uri'),
    state: authorize.searchParams.get('state'),
  })
  expect(scanned.status).toBe(200)
  const back = await get(scanned.data.redirect_url)
  expect(back.status).toBe(302)
  return { landed: new URL(back.headers.location, SITE_URL), get }
}

test('the same person signing in on the website lands in the same account', async () => {
  const { landed, get } = await websiteSignIn(state.person.user)
  expect(landed.pathname).not.toBe('/auth/wechat/complete') // no second registration
  const account = await get(`${SITE_URL}/account`)
  expect(account.status).toBe(200)
  const html = account.body.toString('utf8')
  expect(html).toContain(PHONE.slice(-4))
  const quotes = await get(`${SITE_URL}/quotes/`)
  expect(quotes.status).toBe(200)
  expect(quotes.body.toString('utf8')).toContain(state.ref) // the quote made in the Mini Program
})
