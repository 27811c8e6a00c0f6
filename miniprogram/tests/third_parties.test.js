// My data's separate consent to each named third party: what it receives, why and where, a box to
// tick before giving, and withdrawing at once — rendered from the WXML with the page's logic; the
// site is a fake of /api/mp/v1 that keeps the consent like the real one.
const { renderPage, textOf, installWx, fakeApi, signInAs, simulate } = require('./harness')

const me = {
  id: 3, name: '张伟', email: null, phone: '+86 139****5678', phone_verified: true, customer_type: null, customer_type_name: null,
  job_title: null, invoice_email: null, preferred_language: null, has_password: false, wechat_bound: true,
  created_at: '2026-03-01T08:00:00Z', default_address: null, address_count: 0, invoice: null, subscription: 'none',
  policy_edition: '2026-01', current_policy_edition: '2026-01',
}

const LAB = {
  recipient_id: 7, name: '上海检测认证中心', purpose: '出具第三方检测报告', categories: ['图纸及零件要求', '手机号码'],
  location: '中国大陆', outside_mainland: false, contact: '021-0000 0000', in_use: true,
}
const TOKYO = {
  recipient_id: 8, name: '东京计量株式会社', purpose: '三坐标测量', categories: ['图纸及零件要求'],
  location: '日本', outside_mainland: true, contact: null, in_use: false,
}

// A site that records the consent per recipient as the real one does (given_at set, withdrawn).
function site() {
  const given = { 8: '2026-03-02T08:00:00Z' } // the ended recipient still has the consent
  const consents = () => ({
    in_force: [{ kind: 'policy', name: '个人信息保护政策', withdrawable: false }],
    history: [],
    third_parties: [LAB, TOKYO].map((r) => ({ ...r, given: !!given[r.recipient_id], given_at: given[r.recipient_id] || null })),
  })
  return fakeApi({
    'GET /my-data': { status: 200, body: { categories: [] } },
    'GET /me': { status: 200, body: me },
    'GET /consents': () => ({ status: 200, body: consents() }),
    'POST /consents/third-parties/7': ({ data }) => {
      if (!data || data.agree !== true) return { status: 400, body: { error: { code: 'agree_required', message: '请勾选复选框以表示同意。' } } }
      given[7] = given[7] || '2026-03-05T08:00:00Z'
      return { status: 200, body: consents() }
    },
    'POST /consents/third-parties/7/withdraw': () => {
      delete given[7]
      return { status: 200, body: consents() }
    },
    'POST /consents/third-parties/8/withdraw': () => {
      delete given[8]
      return { status: 200, body: consents() }
    },
  })
}

async function open(extra) {
  const api = site()
  const wx = installWx(api, { showModal: jest.fn((o) => o.success({ confirm: true })), ...extra })
  signInAs()
  const page = renderPage('mydata')
  await page.instance.onLoad({})
  await simulate.sleep(0)
  return { api, wx, page }
}

const tap = { currentTarget: { dataset: { id: 7 } } }

test('each third party shows what it receives, why, where and whether the consent is given', async () => {
  const { page } = await open()
  const lab = textOf(page.querySelector('#third-party-7'))
  expect(lab).toContain('上海检测认证中心')
  expect(lab).toContain('图纸及零件要求、手机号码')
  expect(lab).toContain('出具第三方检测报告')
  expect(lab).toContain('中国大陆')
  expect(lab).toContain('021-0000 0000')
  expect(lab).toContain('未同意')
  expect(lab).toContain('我同意 Xometry Asia 为上述目的向该接收方提供上述信息。')
  const tokyo = textOf(page.querySelector('#third-party-8'))
  expect(tokyo).toContain('日本 · 位于中国大陆境外')
  expect(tokyo).toContain('已同意')
  expect(tokyo).toContain('已不再使用该接收方') // ended: only withdrawing is offered
  expect(page.querySelector('#third-party-8 .third-party-give')).toBeUndefined()
  expect(page.querySelector('#third-party-8 .third-party-withdraw')).toBeDefined()
})

test('giving needs the box ticked, then the consent is shown given; withdrawing asks first and ends it', async () => {
  const { page, api, wx } = await open()
  await page.instance.giveThirdParty(tap)
  await simulate.sleep(0)
  expect(api.calls.some((c) => c.method === 'POST')).toBe(false) // not without the tick
  expect(textOf(page.querySelector('.error'))).toBe('请勾选复选框以表示同意。')

  page.instance.onAgreeThirdParty({ currentTarget: { dataset: { id: 7 } }, detail: { value: ['yes'] } })
  const result = await page.instance.giveThirdParty(tap)
  expect(result.third_parties[0].given).toBe(true)
  expect(api.calls.find((c) => c.path === '/consents/third-parties/7').data).toEqual({ agree: true })
  await simulate.sleep(0)
  let lab = textOf(page.querySelector('#third-party-7'))
  expect(lab).toContain('已同意')
  expect(lab).toContain('同意于 2026-03-05')
  expect(page.data.agreed[7]).toBe(false) // the box is not left ticked for the next time
  expect(page.querySelector('.error')).toBeUndefined()
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '已记录您的同意' }))

  await page.instance.withdrawThirdParty(tap)
  expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({ content: expect.stringContaining('不会再向该接收方提供') }))
  await simulate.sleep(0)
  lab = textOf(page.querySelector('#third-party-7'))
  expect(lab).toContain('未同意')
  expect(page.querySelector('#third-party-7 .third-party-give')).toBeDefined()
})

test('a withdrawal not confirmed sends nothing; the server\'s refusal is shown as sent', async () => {
  const { page, api } = await open({ showModal: jest.fn((o) => o.success({ confirm: false })) })
  expect(await page.instance.withdrawThirdParty({ currentTarget: { dataset: { id: 8 } } })).toBeUndefined()
  expect(api.calls.some((c) => c.method === 'POST')).toBe(false)

  page.instance.setData({ 'agreed.9': true }) // a recipient the site no longer knows
  await page.instance.giveThirdParty({ currentTarget: { dataset: { id: 9 } } })
  await simulate.sleep(0)
  expect(textOf(page.querySelector('.error'))).toBe('Not found.')
})

test('in English the list and the box speak English, the categories joined with commas', async () => {
  const english = { ...LAB, categories: ['Drawings and part requirements', 'Phone number'], location: 'Mainland China' }
  const api = fakeApi({
    'GET /my-data': { status: 200, body: { categories: [] } },
    'GET /me': { status: 200, body: me },
    'GET /consents': { status: 200, body: { in_force: [], history: [], third_parties: [{ ...english, given: false, given_at: null }] } },
  })
  installWx(api, { getAppBaseInfo: () => ({ language: 'en' }) })
  signInAs()
  const page = renderPage('mydata')
  await page.instance.onLoad({})
  await simulate.sleep(0)
  const shown = textOf(page.querySelector('#third-parties'))
  expect(shown).toContain('Giving your information to third parties')
  expect(shown).toContain('Drawings and part requirements, Phone number')
  expect(shown).toContain('Not given')
  expect(shown).toContain('I agree that Xometry Asia gives the information listed above to this recipient')
})

test('without a recipient that needs consent the section is not shown', async () => {
  installWx(fakeApi({
    'GET /my-data': { status: 200, body: { categories: [] } },
    'GET /me': { status: 200, body: me },
    'GET /consents': { status: 200, body: { in_force: [], history: [], third_parties: [] } },
  }))
  signInAs()
  const page = renderPage('mydata')
  await page.instance.onLoad({})
  await simulate.sleep(0)
  expect(page.querySelector('#third-parties')).toBeUndefined()
})
