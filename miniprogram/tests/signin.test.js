const { renderPage, textOf, installWx, fakeApi, storage, simulate } = require('./harness')

const TOKENS = { access_token: 'a1', refresh_token: 'r1', token_type: 'Bearer', expires_in: 900 }

function site(extra = {}) {
  return fakeApi({
    'GET /policy': { status: 200, body: { title: '个人信息保护政策', edition: '2026-01', editions: ['2026-01'] } },
    'POST /session': { status: 200, body: { ...TOKENS, registered: false } },
    'POST /register': { status: 201, body: { ...TOKENS, access_token: 'a2', registered: true } },
    'GET /me': { status: 200, body: { id: 1, name: null, preferred_language: null } },
    ...extra,
  })
}

function wxWith(api, extra = {}) {
  return installWx(api, {
    getPrivacySetting: jest.fn((o) => o.success({ needAuthorization: false, privacyContractName: '《Xometry 小程序隐私保护指引》' })),
    requirePrivacyAuthorize: jest.fn((o) => o.success({})),
    login: jest.fn((o) => o.success({ code: 'wx-login-code' })),
    ...extra,
  })
}

test('a new user signs in, ticks both consents and registers with the phone-number button', async () => {
  const api = site()
  const wx = wxWith(api)
  const page = renderPage('signin')
  await page.instance.onLoad({})
  expect(textOf(page)).toContain('微信登录')

  await page.instance.signIn()
  expect(wx.requirePrivacyAuthorize).toHaveBeenCalled()
  expect(api.calls.find((c) => c.path === '/session').data).toEqual({ code: 'wx-login-code' })
  await simulate.sleep(0)
  const phone = page.querySelector('#phone')
  expect(phone.data.openType).toBe('getPhoneNumber')
  expect(textOf(page)).toContain('我已年满 18 周岁')
  expect(textOf(page)).toContain('个人信息保护政策')

  // the button before the boxes are ticked: nothing is sent
  await page.instance.onGetPhoneNumber({ detail: { code: 'phone-code' } })
  expect(api.calls.some((c) => c.path === '/register')).toBe(false)
  expect(textOf(page)).toContain('请先接受个人信息保护政策')

  page.instance.onConsentChange({ detail: { value: ['policy', 'adult'] } })
  await page.instance.onGetPhoneNumber({ detail: { code: 'phone-code' } })
  const register = api.calls.find((c) => c.path === '/register')
  expect(register.data).toEqual({ phone_code: 'phone-code', accept_policy: true, confirm_adult: true })
  expect(register.header.Authorization).toBe('Bearer a1') // the registering sign-in
  expect(storage.get('xa_tokens')).toMatchObject({ access_token: 'a2', registered: true })
  expect(wx.reLaunch).toHaveBeenCalledWith({ url: '/pages/index/index' })
})

test('a refused phone number is explained and nothing is sent', async () => {
  const api = site()
  wxWith(api)
  const page = renderPage('signin')
  await page.instance.onLoad({})
  await page.instance.signIn()
  page.instance.onConsentChange({ detail: { value: ['policy', 'adult'] } })
  await page.instance.onGetPhoneNumber({ detail: { errMsg: 'getPhoneNumber:fail user deny' } })
  expect(api.calls.some((c) => c.path === '/register')).toBe(false)
  expect(textOf(page)).toContain('您未授权手机号')
})

test('privacy authorization comes first: the panel, then the agree button lets the sign-in go on', async () => {
  const api = site()
  const wx = wxWith(api, {
    getPrivacySetting: jest.fn((o) => o.success({ needAuthorization: true, privacyContractName: '《Xometry 小程序隐私保护指引》' })),
  })
  const page = renderPage('signin')
  await page.instance.onLoad({})
  await simulate.sleep(0)
  expect(textOf(page)).toContain('《Xometry 小程序隐私保护指引》')
  // app.js hands WeChat's resolve to the page (wx.onNeedPrivacyAuthorization)
  const resolve = jest.fn()
  page.instance.showPrivacy(resolve)
  page.instance.onAgreePrivacy()
  expect(resolve).toHaveBeenCalledWith({ buttonId: 'agree-privacy', event: 'agree' })
  expect(page.data.needPrivacy).toBe(false)

  // declined: no wx.login, a plain message
  wx.requirePrivacyAuthorize.mockImplementation((o) => o.fail({ errMsg: 'requirePrivacyAuthorize:fail privacy permission is not authorized' }))
  await page.instance.signIn()
  expect(wx.login).not.toHaveBeenCalled()
  expect(textOf(page)).toContain('需要您同意隐私保护指引后才能继续')
})

test('a phone that already has an account offers linking, with its password when asked', async () => {
  const api = site({
    'POST /register': {
      status: 409,
      body: { error: { code: 'link_required', message: '该手机号已有账户。是否将此微信关联到该账户？' }, link: { methods: ['phone', 'password'] } },
    },
    'POST /link': { status: 200, body: { ...TOKENS, access_token: 'a3', registered: true } },
  })
  wxWith(api)
  const page = renderPage('signin')
  await page.instance.onLoad({})
  await page.instance.signIn()
  page.instance.onConsentChange({ detail: { value: ['policy', 'adult'] } })
  await page.instance.onGetPhoneNumber({ detail: { code: 'phone-code' } })
  await simulate.sleep(0)
  expect(page.data.step).toBe('link')
  expect(page.querySelector('#link-password')).toBeTruthy()
  page.instance.onPasswordInput({ detail: { value: 'secret words' } })
  await page.instance.link()
  expect(api.calls.find((c) => c.path === '/link').data).toEqual({ confirm: true, password: 'secret words' })
  expect(storage.get('xa_tokens').access_token).toBe('a3')
})

test('a returning user goes straight in, in the language the account chose', async () => {
  const api = site({
    'POST /session': { status: 200, body: { ...TOKENS, registered: true } },
    'GET /me': { status: 200, body: { id: 1, preferred_language: 'en' } },
  })
  const wx = wxWith(api)
  const page = renderPage('signin')
  await page.instance.onLoad({})
  await page.instance.signIn()
  expect(api.calls.some((c) => c.path === '/register')).toBe(false)
  expect(require('../utils/i18n').lang()).toBe('en')
  expect(wx.reLaunch).toHaveBeenCalled()
})

test('a refused WeChat code shows the server message', async () => {
  const api = site({
    'POST /session': { status: 400, body: { error: { code: 'code_invalid', message: '微信登录凭证无效或已被使用，请重试。' } } },
  })
  wxWith(api)
  const page = renderPage('signin')
  await page.instance.onLoad({})
  await page.instance.signIn()
  await simulate.sleep(0)
  expect(textOf(page)).toContain('微信登录凭证无效或已被使用')
})
