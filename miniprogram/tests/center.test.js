const { renderPage, textOf, installWx, fakeApi, signInAs, simulate, storage } = require('./harness')

const me = {
  id: 3, name: '张伟', email: null, phone: '+86 139****5678', phone_verified: true, customer_type: 'company', customer_type_name: '企业',
  job_title: '采购经理', invoice_email: null, preferred_language: null, has_password: false, wechat_bound: true,
  created_at: '2026-03-01T08:00:00Z', default_address: { recipient: '张伟', region: '上海市 市辖区 浦东新区', address: '张江路 88 号' },
  address_count: 1, invoice: null, subscription: 'none', policy_edition: '2026-01', current_policy_edition: '2026-01',
}

test('the Personal Center shows the account with names, the phone masked', async () => {
  installWx(fakeApi({ 'GET /me': { status: 200, body: me } }))
  signInAs()
  const page = renderPage('center')
  await page.instance.onLoad({})
  await page.instance.onShow()
  await simulate.sleep(0)
  const shown = textOf(page)
  expect(shown).toContain('张伟')
  expect(shown).toContain('+86 139****5678')
  expect(shown).toContain('企业')
  expect(shown).toContain('上海市 市辖区 浦东新区 张江路 88 号')
  expect(shown).not.toContain('company')
})

test('the profile is saved with PATCH /me and its language becomes the Mini Program\'s', async () => {
  const api = fakeApi({
    'GET /me': { status: 200, body: me },
    'PATCH /me': ({ data }) => ({ status: 200, body: { ...me, ...data } }),
  })
  installWx(api)
  signInAs()
  const page = renderPage('profile')
  await page.instance.onLoad({})
  await simulate.sleep(0)
  expect(page.data.form.name).toBe('张伟')
  expect(textOf(page)).toContain('企业')
  page.instance.onInput({ currentTarget: { dataset: { field: 'name' } }, detail: { value: '张伟伟' } })
  page.instance.onLanguage({ detail: { value: '2' } })
  await page.instance.save()
  expect(api.calls.find((c) => c.method === 'PATCH').data).toMatchObject({ name: '张伟伟', job_title: '采购经理', customer_type: 'company', preferred_language: 'en' })
  await simulate.sleep(0)
  expect(textOf(page)).toContain('Preferred language')
  expect(storage.get('xa_lang')).toBe('en')
})

test('a field the server refuses is shown under that field', async () => {
  installWx(fakeApi({
    'GET /me': { status: 200, body: me },
    'PATCH /me': { status: 422, body: { error: { code: 'invalid', message: '部分内容缺失或无效。', fields: { name: '请输入您的姓名。' } } } },
  }))
  signInAs()
  const page = renderPage('profile')
  await page.instance.onLoad({})
  await page.instance.save()
  await simulate.sleep(0)
  expect(textOf(page)).toContain('请输入您的姓名。')
})

test("an address takes the region picker's codes; the server's field messages are shown", async () => {
  const api = fakeApi({
    'POST /addresses': ({ data }) => data.postal_code.length === 6
      ? { status: 201, body: { id: 9, ...data } }
      : { status: 422, body: { error: { code: 'invalid', message: '部分内容缺失或无效。', fields: { postal_code: '邮政编码为六位数字。' } } } },
  })
  const wx = installWx(api)
  signInAs()
  const page = renderPage('address')
  await page.instance.onLoad({})
  page.instance.onRegion({ detail: { value: ['上海市', '上海市', '浦东新区'], code: ['310000', '310100', '310115'] } })
  for (const [field, value] of [['recipient', '张伟'], ['address', '张江路 88 号'], ['phone', '13912345678'], ['postal_code', '2012']]) {
    page.instance.onInput({ currentTarget: { dataset: { field } }, detail: { value } })
  }
  await page.instance.save()
  await simulate.sleep(0)
  expect(textOf(page)).toContain('邮政编码为六位数字。')
  page.instance.onInput({ currentTarget: { dataset: { field: 'postal_code' } }, detail: { value: '201203' } })
  await page.instance.save()
  const sent = api.calls.filter((c) => c.method === 'POST').pop().data
  expect(sent).toMatchObject({ province: '310000', city: '310100', district: '310115', recipient: '张伟', postal_code: '201203' })
  expect(wx.navigateBack).toHaveBeenCalled()
})

test('My data lists the categories, asks for a copy, withdraws a consent and deregisters after the tick', async () => {
  const api = fakeApi({
    'GET /my-data': { status: 200, body: { categories: [{ key: 'registration', title: '注册信息', purpose: '开立账户', method: '您提供', records: [{ title: '账户', items: [{ label: '手机号码', value: '+86 139****5678' }] }] }] } },
    'GET /me': { status: 200, body: me },
    'GET /exports': { status: 200, body: [{ id: 'e5', status: 'ready', status_name: '可以下载', created_at: '2026-03-05T08:00:00Z', size: 20480, transfer: false, downloadable: true }] },
    'POST /exports': { status: 202, body: { id: 'e6', status: 'pending', status_name: '排队中', created_at: '2026-03-05T09:00:00Z', transfer: false, downloadable: false } },
    'GET /consents': { status: 200, body: {
      in_force: [{ kind: 'marketing', name: '营销信息', withdrawable: true }, { kind: 'policy', name: '个人信息保护政策', withdrawable: false }],
      history: [{ kind: 'marketing', name: '营销信息', edition: '2026-01', channel: 'miniprogram', given_at: '2026-03-01T08:00:00Z', confirmed: true, withdrawn_at: null }],
    } },
    'POST /consents/marketing/withdraw': { status: 200, body: {
      in_force: [{ kind: 'policy', name: '个人信息保护政策', withdrawable: false }],
      history: [{ kind: 'marketing', name: '营销信息', edition: '2026-01', channel: 'miniprogram', given_at: '2026-03-01T08:00:00Z', confirmed: true, withdrawn_at: '2026-03-05T10:00:00Z' }],
    } },
    'GET /collected': { status: 200, body: { phone: '+86 139****5678', phone_verified_at: '2026-03-01T08:00:00Z', openid_linked: true, unionid_linked: true, linked_at: '2026-03-01T08:00:00Z', sign_ins: 3, last_sign_in_at: null, uploads: 2 } },
    'POST /deregistration': { status: 202, body: { erasure_date: '2026-04-05T00:00:00Z', erased: false } },
  })
  installWx(api, { showModal: jest.fn((o) => o.success({ confirm: true })) })
  signInAs()
  const page = renderPage('mydata')
  await page.instance.onLoad({})
  page.instance.toggle({ currentTarget: { dataset: { key: 'registration' } } })
  await simulate.sleep(0)
  let shown = textOf(page)
  expect(shown).toContain('注册信息')
  expect(shown).toContain('+86 139****5678')
  expect(shown).toContain('营销信息')
  expect(shown).toContain('可以下载 20.0 KB')
  expect(shown).toContain('注销账户即可撤回') // the policy consent ends with the account only
  expect(shown).toContain('小程序登录次数')

  await page.instance.requestExport()
  expect(api.calls.some((c) => c.method === 'POST' && c.path === '/exports')).toBe(true)
  await page.instance.withdraw({ currentTarget: { dataset: { kind: 'marketing' } } })
  expect(api.calls.some((c) => c.path === '/consents/marketing/withdraw')).toBe(true)
  expect(page.data.consents.map((c) => c.kind)).toEqual(['policy'])

  await page.instance.deregister()
  expect(api.calls.some((c) => c.path === '/deregistration')).toBe(false) // not without the tick
  page.instance.onConfirmDeregister({ detail: { value: ['yes'] } })
  await page.instance.deregister()
  expect(api.calls.find((c) => c.path === '/deregistration').data).toEqual({ confirm: true })
  await simulate.sleep(0)
  shown = textOf(page)
  expect(shown).toContain('账户已注销')
  expect(shown).toMatch(/2026-04-0[45]/)
  expect(storage.has('xa_tokens')).toBe(false)
})

test('a deregistration after an old sign-in proves the person again with a silent wx.login', async () => {
  let fresh = false
  const api = fakeApi({
    'GET /my-data': { status: 200, body: { categories: [] } },
    'GET /me': { status: 200, body: me },
    'POST /session': ({ data }) => {
      fresh = data.code === 'again'
      return { status: 200, body: { access_token: 'a9', refresh_token: 'r9', registered: true } }
    },
    'POST /deregistration': ({ header }) => fresh && header.Authorization === 'Bearer a9'
      ? { status: 202, body: { erasure_date: '2026-04-05T00:00:00Z', erased: false } }
      : { status: 403, body: { error: { code: 'reauth_required', message: '请确认是您本人。' } } },
  })
  const wx = installWx(api, { login: jest.fn((o) => o.success({ code: 'again' })) })
  signInAs()
  const page = renderPage('mydata')
  await page.instance.onLoad({})
  page.instance.onConfirmDeregister({ detail: { value: ['yes'] } })
  await page.instance.deregister()
  expect(wx.login).toHaveBeenCalledTimes(1)
  expect(api.calls.filter((c) => c.path === '/deregistration')).toHaveLength(2)
  expect(page.data.erasureDate).toMatch(/2026-04-0[45]/)
})

test('the policy shows its title, edition and text, and copies the website link', async () => {
  const wx = installWx(fakeApi({
    'GET /policy': { status: 200, body: { edition: '2026-01', title: '个人信息保护政策', effective_date: '2026-01-01', url: 'https://www.xometry.asia/policy?lang=zh_CN', editions: ['2025-06', '2026-01'] } },
    'GET /policy/editions': { status: 200, body: [{ edition: '2026-01', effective_date: '2026-01-01', is_current: true, url: 'https://www.xometry.asia/policy/2026-01' }, { edition: '2025-06', effective_date: '2025-06-01', is_current: false, url: 'https://www.xometry.asia/policy/2025-06' }] },
    'GET /policy/editions/2026-01': { status: 200, body: {
      edition: '2026-01', effective_date: '2026-01-01', is_current: true, url: 'https://www.xometry.asia/policy/2026-01', title: '个人信息保护政策',
      intro: [{ type: 'p', text: '第一段。' }],
      sections: [{ anchor: 's1', number: '1', title: '我们收集的信息', blocks: [
        { type: 'p', text: '第二段。' },
        { type: 'subsection', number: '1.1', title: '注册', blocks: [{ type: 'ol', items: [{ label: '(a)', text: '手机号码' }, { label: '(b)', text: '微信标识', items: [{ label: 'i.', text: 'OpenID' }] }] }] },
      ] }],
      appendix: null, changes: [],
    } },
  }))
  const page = renderPage('policy')
  await page.instance.onLoad({})
  await simulate.sleep(0)
  const shown = textOf(page)
  expect(shown).toContain('个人信息保护政策')
  expect(shown).toContain('2026-01-01')
  expect(page.querySelectorAll('.policy-p').length).toBe(2)
  expect(textOf(page.querySelector('.policy-h2'))).toBe('1 我们收集的信息')
  expect(textOf(page.querySelector('.policy-h3'))).toBe('1.1 注册')
  expect(page.querySelectorAll('.policy-li').map((li) => textOf(li))).toEqual(['(a) 手机号码', '(b) 微信标识', 'i. OpenID'])
  expect(shown).toContain('2025-06')
  page.instance.copyLink()
  expect(wx.setClipboardData.mock.calls[0][0].data).toBe('https://www.xometry.asia/policy/2026-01')
})

test('the home page switches language and sends a signed-out visitor to sign in', async () => {
  const wx = installWx(fakeApi({}))
  const page = renderPage('index')
  await page.instance.onLoad({})
  await page.instance.onShow()
  await simulate.sleep(0)
  expect(textOf(page)).toContain('上传图纸询价')
  page.instance.go({ currentTarget: { dataset: { page: 'quotes' } } })
  expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/signin/signin' })
  page.instance.switchLanguage()
  await simulate.sleep(0)
  expect(textOf(page)).toContain('Upload a drawing for a quote')
})
