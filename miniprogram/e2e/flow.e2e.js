// End to end: the pages' own logic against the live site (SITE_URL), the WeChat simulator
// (SIM_URL) and the WeChat Pay simulator (PAY_URL) — a new WeChat user signs in, shares the phone,
// consents, edits the profile, uploads a drawing and sees it priced, changes a part's options at
// the live price, keeps an address and invoice details, orders and pays with WeChat Pay, reads My
// data and the policy, downloads a copy of the data; the same person (same UnionID) signs in on
// the website and lands in the same account; files a data-protection request, meets the
// newsletter's need for an e-mail address, withdraws the ID-number consent, gives and withdraws
// the separate consent to a third party on the register; then the account is deregistered.
const fs = require('fs')
const os = require('os')
const path = require('path')
const { createWx, phoneCode, postJson, send } = require('./wx_shim')
const { mount } = require('../tests/mount')
const { cubeStl } = require('./stl')

const SITE_URL = process.env.SITE_URL
const SIM_URL = process.env.SIM_URL
const PAY_URL = process.env.PAY_URL
if (!SITE_URL || !SIM_URL || !PAY_URL) {
  throw new Error('SITE_URL, SIM_URL and PAY_URL must point at the live site and the WeChat and WeChat Pay simulators')
}

const config = require('../config')
const session = require('../utils/session')
const i18n = require('../utils/i18n')

const PHONE = `+86139${String(Date.now()).slice(-8)}`
const ID_NUMBER = '11010519491231002X' // a valid resident ID number (check character included)
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
  // WeChat hands the page a temporary path; the chosen name comes separately (tempFiles[].name)
  const stl = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'xa-e2e-')), 'tmp_5f2a9c.stl')
  fs.writeFileSync(stl, cubeStl(20))
  global.wx = createWx({
    simUrl: SIM_URL,
    payUrl: PAY_URL,
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

test('the Personal Center profile is edited and shown', async () => {
  const profile = page('profile')
  await profile.onLoad({})
  expect(profile.data.error).toBe('')
  const type = (field, value) => profile.onInput({ currentTarget: { dataset: { field } }, detail: { value } })
  type('name', '')
  await profile.save()
  expect(Object.keys(profile.data.fields)).toContain('name') // the website's rule: a name is needed
  type('name', '张工')
  type('job_title', '采购工程师')
  profile.onCustomerType({ detail: { value: '1' } }) // 企业
  profile.onLanguage({ detail: { value: '1' } }) // 简体中文
  const saved = await profile.save()
  expect(saved.name).toBe('张工')
  expect(saved.preferred_language).toBe('zh_CN')

  const center = page('center')
  await center.onLoad({})
  await center.onShow()
  expect(center.data.me.name).toBe('张工')
  expect(center.data.me.jobTitle).toBe('采购工程师')
  expect(center.data.me.customerTypeName).toBe('企业') // the name, in the account's language
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
  expect(part.filename).toBe('bracket.stl') // the chosen name, not WeChat's temporary one
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

test("a part's options change the live price, and saving reprices the quote", async () => {
  const quote = page('quote')
  await quote.onLoad({ ref: state.ref })
  expect(quote.data.catalogue.processes.length).toBeGreaterThan(0)
  const part = quote.raw.parts[0]
  expect(quote.data.quote.parts[0].optionNames).not.toContain(part.options.material) // names
  quote.edit({ currentTarget: { dataset: { id: part.id } } })
  const before = quote.data.live.total
  await quote.onOptionsChange({ detail: { options: { quantity: part.options.quantity * 10 } } })
  expect(quote.data.error).toBe('')
  expect(quote.data.live.total).toMatch(/^¥[\d,]+\.\d\d$/)
  expect(quote.data.live.total).not.toBe(before) // ten times as many cost more
  expect(quote.data.live.quoteTotal).toMatch(/^¥/)
  const liveTotal = quote.data.live.quoteTotal
  await quote.savePart()
  expect(quote.data.error).toBe('')
  expect(quote.data.quote.parts[0].quantity).toBe(part.options.quantity * 10)
  expect(quote.data.quote.total).toBe(liveTotal) // what the live price said it would be

  await quote.onLoad({ ref: state.ref }) // a quantity the site refuses is said by field
  quote.edit({ currentTarget: { dataset: { id: part.id } } })
  await quote.onOptionsChange({ detail: { options: { quantity: 0 } } })
  expect(Object.keys(quote.data.fields)).toEqual(['quantity'])
  expect(quote.data.error).toBeTruthy()
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

test('invoice details are kept for the fapiao; a national ID number as tax number needs its consent', async () => {
  const invoice = page('invoice')
  await invoice.onLoad({})
  expect(invoice.data.saved).toBe(null)
  invoice.edit()
  invoice.onKind({ detail: { value: '1' } }) // a person
  invoice.onInput({ currentTarget: { dataset: { field: 'name' } }, detail: { value: '张工' } })
  invoice.onInput({ currentTarget: { dataset: { field: 'tax_number' } }, detail: { value: ID_NUMBER } })
  await invoice.save()
  expect(Object.keys(invoice.data.fields)).toEqual(['consent_sensitive']) // sensitive: asked first
  invoice.onConsent({ detail: { value: ['yes'] } })
  await invoice.save()
  expect(invoice.data.error).toBe('')
  expect(invoice.data.saved.kind).toBe('personal')
  expect(invoice.data.saved.fapiao_type_name).toBeTruthy()
  expect(invoice.data.saved.tax_number).not.toBe(ID_NUMBER) // shown masked
  expect(invoice.data.saved.tax_number).toContain(ID_NUMBER.slice(-2))
})

test('the quote is accepted, the order shows the transfer details, and WeChat Pay pays it', async () => {
  const quote = page('quote')
  await quote.onLoad({ ref: state.ref })
  expect(quote.data.quote.canAccept).toBe(true)
  await quote.startAccept()
  expect(quote.data.accepting).toBe(true)
  expect(quote.data.leadTimes.map((l) => l.code)).toContain('standard')
  const order = await quote.confirmAccept()
  expect(quote.data.error).toBe('')
  expect(order.number).toMatch(/^XA-/)
  const opened = lastNavigation('redirectTo').url
  expect(opened).toBe(`/pages/order/order?number=${order.number}`)

  const orders = page('orders')
  await orders.onLoad({})
  await orders.onShow()
  expect(orders.data.orders.map((o) => o.number)).toEqual([order.number])
  expect(orders.data.orders[0].total).toMatch(/^¥[\d,]+\.\d\d$/)

  const detail = page('order')
  await detail.onLoad(queryOf(opened))
  expect(detail.data.error).toBe('')
  const due = detail.data.order
  expect(due.payable).toBe(true)
  expect(due.bank.amount).toBe(due.total)
  expect(due.bank.reference).toBeTruthy()
  expect(due.parts[0].names).not.toBe('')
  const unpaidStatus = due.statusName

  await detail.pay()
  expect(detail.data.error).toBe('')
  const paid = detail.data.order
  expect(paid.statusName).not.toBe(unpaidStatus) // the site heard from WeChat Pay
  expect(paid.payable).toBe(false)
  expect(paid.timeline.length).toBeGreaterThan(due.timeline.length)
})

test('My data shows what is held, and the policy its edition', async () => {
  const mydata = page('mydata')
  await mydata.onLoad({})
  expect(mydata.data.error).toBe('')
  const keys = mydata.data.categories.map((c) => c.key)
  expect(keys).toContain('registration')
  expect(mydata.data.collected.phone).toContain(PHONE.slice(-4))
  expect(mydata.data.collected.uploads).toBe(1)
  const kinds = mydata.data.consents.map((c) => c.kind)
  expect(kinds).toEqual(expect.arrayContaining(['policy', 'adult', 'sensitive_tax_id']))
  expect(mydata.data.history.every((c) => c.given)).toBe(true)

  // a copy of my data: asked, built, downloaded as a zip
  await mydata.requestExport()
  expect(mydata.data.error).toBe('')
  const built = mydata.data.exports[0]
  expect(built.ready).toBe(true)
  const file = await mydata.downloadExport({ currentTarget: { dataset: { id: built.id } } })
  expect(fs.readFileSync(file).subarray(0, 4).toString('binary')).toBe('PK\x03\x04')

  const policy = page('policy')
  await policy.onLoad({})
  expect(policy.data.policy.editions).toContain(policy.data.policy.edition)
  expect(policy.data.url).toMatch(/^https?:\/\//)
  expect(policy.data.lines.filter((l) => l.kind === 'h2').length).toBeGreaterThan(3) // the text
  expect(policy.data.editions.some((e) => e.current)).toBe(true)
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
  // a copied (spent) refresh token is refused, and ends that sign-in for the phone too
  const replay = await postJson(`${config.baseUrl}/session/refresh`, { refresh_token: before.refresh_token })
  expect(replay.status).toBe(401)
  expect(replay.data.error.message).toBeTruthy()
  await expect(api.get('/me')).rejects.toMatchObject({ status: 401 })
  expect(session.signedIn()).toBe(false)

  // signing in again: the account is known, no second registration
  const signin = page('signin')
  await signin.onLoad({})
  await signin.signIn()
  expect(signin.data.step).toBe('done')
  expect((await api.get('/me')).id).toBe(me.id)
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
  expect(html).toContain('张工') // the name given in the Mini Program
  const quotes = await get(`${SITE_URL}/quotes/`)
  expect(quotes.status).toBe(200)
  expect(quotes.body.toString('utf8')).toContain(state.ref) // the quote made in the Mini Program
})

test('a data-protection request is filed from My data and listed with its status and due date', async () => {
  const requests = page('requests')
  await requests.onLoad({})
  expect(requests.data.error).toBe('')
  expect(requests.data.requests).toEqual([])
  expect(requests.data.kinds).toHaveLength(8)
  requests.onKind({ detail: { value: '1' } }) // a transfer: the processor is required
  expect(requests.data.transfer).toBe(true)
  await requests.submit()
  expect(Object.keys(requests.data.fields)).toEqual(['processor'])
  expect(requests.data.fields.processor).toMatch(/处理者/) // the website's own message, in Chinese
  requests.onKind({ detail: { value: '0' } }) // a copy of my personal information
  requests.onInput({ currentTarget: { dataset: { field: 'details' } }, detail: { value: '请提供我的报价记录副本。' } })
  const filed = await requests.submit()
  expect(requests.data.error).toBe('')
  expect(filed.kind).toBe('copy')

  const again = page('requests')
  await again.onLoad({})
  expect(again.data.requests).toHaveLength(1)
  const listed = again.data.requests[0]
  expect(listed.kindName).toBe(i18n.t('request_kind_copy')) // the site's name matches the picker's
  expect(listed.statusName).toBeTruthy()
  expect(listed.statusName).not.toBe(filed.status) // a name, not the code
  expect(listed.due).toMatch(/^\d{4}-\d\d-\d\d$/)
  expect(listed.due > listed.filed).toBe(true) // due in 15 working days
  expect(listed.details).toBe('请提供我的报价记录副本。')
})

test('the newsletter needs an e-mail address, which a Mini Program account does not have', async () => {
  const newsletter = page('newsletter')
  await newsletter.onLoad({})
  expect(newsletter.data.error).toBe('')
  expect(newsletter.data.email).toBe('')
  expect(newsletter.data.state).toBe('none')
  expect(await newsletter.onSwitch({ detail: { value: true } })).toBeUndefined()
  expect(newsletter.data.error).toMatch(/电子邮箱/) // the site's email_required message
  expect(newsletter.data.on).toBe(false)
  await newsletter.load()
  expect(newsletter.data.state).toBe('none') // nothing was subscribed

  // without an e-mail address no first password is offered (it signs in with one on the website)
  const password = page('password')
  await password.onLoad({})
  expect(password.data.error).toBe('')
  expect(password.data.loaded).toBe(true)
  expect(password.data.hasEmail).toBe(false)
  expect(password.data.hasPassword).toBe(false)
})

test('the ID-number consent is withdrawn from My data, and the number goes with it', async () => {
  const mydata = page('mydata')
  await mydata.onLoad({})
  const consent = mydata.data.consents.find((c) => c.kind === 'sensitive_tax_id')
  expect(consent.withdrawable).toBe(true)
  expect(consent.name).not.toBe(consent.kind)
  const left = await mydata.withdraw({ currentTarget: { dataset: { kind: 'sensitive_tax_id' } } })
  expect(mydata.data.error).toBe('')
  expect(left.in_force.map((c) => c.kind)).not.toContain('sensitive_tax_id')
  expect(mydata.data.history.some((c) => c.withdrawn)).toBe(true)
  // the policy consent ends only with the account
  expect(mydata.data.consents.find((c) => c.kind === 'policy').withdrawable).toBe(false)

  const invoice = page('invoice')
  await invoice.onLoad({})
  expect(invoice.data.saved.name).toBe('张工')
  expect(invoice.data.saved.tax_number).toBeFalsy() // the ID number is no longer held
})

test('a third party on the register is given its separate consent with the box ticked, then it is withdrawn', async () => {
  const mydata = page('mydata')
  await mydata.onLoad({})
  expect(mydata.data.thirdParties).toHaveLength(1) // the laboratory the site's test put on the register
  const [lab] = mydata.data.thirdParties
  expect(lab.given).toBe(false)
  expect(lab.inUse).toBe(true)
  expect(lab.receives).toContain('手机号码') // names in the account's language, never codes
  expect(lab.purpose).not.toBe('')
  const target = { currentTarget: { dataset: { id: lab.id } } }

  await mydata.giveThirdParty(target)
  expect(mydata.data.error).toBe(i18n.t('third_party_agree_first')) // not without the tick
  mydata.onAgreeThirdParty({ currentTarget: { dataset: { id: lab.id } }, detail: { value: ['yes'] } })
  const given = await mydata.giveThirdParty(target)
  expect(mydata.data.error).toBe('')
  expect(given.history.some((c) => c.kind === 'third_party' && c.recipient_id === lab.id && c.channel === 'miniprogram')).toBe(true)
  expect(mydata.data.thirdParties[0].given).toBe(true)
  expect(mydata.data.thirdParties[0].givenAt).toMatch(/^\d{4}-\d\d-\d\d/)

  await mydata.withdrawThirdParty(target)
  expect(mydata.data.error).toBe('')
  expect(mydata.data.thirdParties[0].given).toBe(false)
  const again = page('mydata')
  await again.onLoad({})
  expect(again.data.thirdParties[0].given).toBe(false) // as the site now keeps it
})

test('deregistration ends the sign-in and the next one is refused', async () => {
  const mydata = page('mydata')
  await mydata.onLoad({})
  await mydata.deregister()
  expect(mydata.data.error).toBe(i18n.t('deregister_confirm_first'))
  mydata.onConfirmDeregister({ detail: { value: ['yes'] } })
  // the sign-in is now older than the site's REAUTH_MAX_AGE: a silent wx.login proves it again
  const reauth = Number(process.env.REAUTH_SECONDS || 0)
  expect(reauth).toBeGreaterThan(0)
  await new Promise((resolve) => setTimeout(resolve, (reauth + 1) * 1000))
  const logins = global.wx.logins
  const done = await mydata.deregister()
  expect(mydata.data.error).toBe('')
  expect(global.wx.logins).toBe(logins + 1)
  expect(done.erased).toBe(false)
  expect(mydata.data.erasureDate).toMatch(/^\d{4}-\d\d-\d\d$/)
  expect(session.tokens()).toBe(null)

  const signin = page('signin')
  await signin.onLoad({})
  await signin.signIn()
  expect(signin.data.step).toBe('start')
  expect(signin.data.error).toMatch(/注销/) // the site's own words: deregistered
})
