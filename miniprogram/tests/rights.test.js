// The Personal Center's password and newsletter pages and My data's data-protection requests,
// rendered from their WXML with their logic; the site is a fake of /api/mp/v1.
const { renderPage, textOf, installWx, fakeApi, signInAs, simulate } = require('./harness')

const me = {
  id: 3, name: '张伟', email: null, phone: '+86 139****5678', phone_verified: true, customer_type: null, customer_type_name: null,
  job_title: null, invoice_email: null, preferred_language: null, has_password: false, wechat_bound: true,
  created_at: '2026-03-01T08:00:00Z', default_address: null, address_count: 0, invoice: null, subscription: 'none',
  policy_edition: '2026-01', current_policy_edition: '2026-01',
}
const withEmail = { ...me, email: 'zhang@example.com', email_verified: true }
const invalid = (fields) => ({ status: 422, body: { error: { code: 'invalid', message: '部分内容缺失或无效。', fields } } })
const type = (page, field, value) => page.instance.onInput({ currentTarget: { dataset: { field } }, detail: { value } })

async function open(name, routes, extra) {
  const api = fakeApi(routes)
  const wx = installWx(api, extra)
  signInAs()
  const page = renderPage(name)
  await page.instance.onLoad({})
  await simulate.sleep(0)
  return { api, wx, page }
}

describe('password', () => {
  test('an account without an e-mail address is told why it has no password form', async () => {
    const { page, api } = await open('password', { 'GET /me': { status: 200, body: me } })
    expect(page.querySelector('#new_password')).toBeUndefined()
    expect(textOf(page)).toContain('未设置密码')
    expect(textOf(page)).toContain('请先在网站的账户资料中添加电子邮箱')
    expect(api.calls.some((c) => c.method === 'POST')).toBe(false)
  })

  test('a first password: no current one asked, the repeat checked, the server asked again after a silent wx.login', async () => {
    let fresh = false
    const { page, api, wx } = await open('password', {
      'GET /me': { status: 200, body: withEmail },
      'POST /session': () => {
        fresh = true
        return { status: 200, body: { access_token: 'a2', refresh_token: 'r2', registered: true } }
      },
      'POST /me/password': ({ data }) => {
        if (!fresh) return { status: 403, body: { error: { code: 'reauth_required', message: '请确认是您本人。' } } }
        return data.new_password.length < 8 ? invalid({ new_password: '密码至少需要 8 个字符。' }) : { status: 204, body: '' }
      },
    }, { login: jest.fn((o) => o.success({ code: 'again' })) })
    expect(textOf(page)).toContain('设置密码')
    expect(page.querySelector('#current_password')).toBeUndefined()
    expect(page.querySelector('#new_password')).toBeDefined()

    type(page, 'new_password', 'short')
    type(page, 'new_password_confirm', 'shorter')
    expect(await page.instance.save()).toBe(false)
    await simulate.sleep(0)
    expect(textOf(page)).toContain('两次输入的密码不一致。')
    expect(api.calls.some((c) => c.path === '/me/password')).toBe(false)

    type(page, 'new_password_confirm', 'short')
    await page.instance.save()
    await simulate.sleep(0)
    expect(wx.login).toHaveBeenCalledTimes(1) // reauth_required: proved again, then asked again
    expect(textOf(page)).toContain('密码至少需要 8 个字符。')

    type(page, 'new_password', 'copper bracket lathe')
    type(page, 'new_password_confirm', 'copper bracket lathe')
    expect(await page.instance.save()).toBe(true)
    const sent = api.calls.filter((c) => c.path === '/me/password').pop().data
    expect(sent).toEqual({ new_password: 'copper bracket lathe' })
    await simulate.sleep(0)
    expect(textOf(page)).toContain('密码已保存，其他设备已退出登录。')
    expect(page.querySelector('#current_password')).toBeDefined() // now it has one to change
  })

  test('changing a password sends the current one; a wrong one is said beside it', async () => {
    const { page, api } = await open('password', {
      'GET /me': { status: 200, body: { ...me, has_password: true } },
      'POST /me/password': ({ data }) => data.current_password === 'old pass phrase' ? { status: 204, body: '' } : invalid({ current_password: '当前密码不正确。' }),
    })
    expect(textOf(page)).toContain('修改密码') // an account with a password, even without e-mail
    type(page, 'current_password', 'wrong one')
    type(page, 'new_password', 'copper bracket lathe')
    type(page, 'new_password_confirm', 'copper bracket lathe')
    await page.instance.save()
    await simulate.sleep(0)
    expect(page.querySelectorAll('.field-error').map(textOf)).toEqual(['当前密码不正确。'])
    type(page, 'current_password', 'old pass phrase')
    type(page, 'new_password', 'copper bracket lathe')
    type(page, 'new_password_confirm', 'copper bracket lathe')
    expect(await page.instance.save()).toBe(true)
    expect(api.calls.filter((c) => c.path === '/me/password').pop().data).toEqual({ current_password: 'old pass phrase', new_password: 'copper bracket lathe' })
  })
})

describe('newsletter', () => {
  test('subscribing is pending until the mail is confirmed; unsubscribing is at once', async () => {
    let state = 'none'
    const { page, api } = await open('newsletter', {
      'GET /me': { status: 200, body: withEmail },
      'GET /subscriptions': () => ({ status: 200, body: { state } }),
      'PUT /subscriptions': ({ data }) => {
        state = data.subscribed ? 'pending' : 'none'
        return { status: 200, body: { state } }
      },
    })
    expect(page.data.on).toBe(false)
    expect(textOf(page)).toContain('未订阅。打开开关后，我们会向 zhang@example.com 发送确认邮件')
    expect(await page.instance.onSwitch({ detail: { value: true } })).toBe('pending')
    expect(api.calls.find((c) => c.method === 'PUT').data).toEqual({ subscribed: true })
    await simulate.sleep(0)
    expect(page.data.on).toBe(true)
    expect(textOf(page)).toContain('待确认：请打开我们发送到 zhang@example.com 的邮件')

    state = 'subscribed' // the link in the mail was opened
    await page.instance.load()
    await simulate.sleep(0)
    expect(textOf(page)).toContain('已订阅：资讯将发送到 zhang@example.com')
    expect(await page.instance.onSwitch({ detail: { value: false } })).toBe('none')
    expect(page.data.on).toBe(false)
  })

  test('an account without an e-mail address gets the server\'s email_required message and the switch stays off', async () => {
    const message = '资讯通过电子邮件发送：请先在网站上添加电子邮箱地址。'
    const { page, wx } = await open('newsletter', {
      'GET /me': { status: 200, body: me },
      'GET /subscriptions': { status: 200, body: { state: 'none' } },
      'PUT /subscriptions': { status: 409, body: { error: { code: 'email_required', message } } },
    })
    expect(textOf(page)).toContain('您的账户中没有电子邮箱')
    expect(await page.instance.onSwitch({ detail: { value: true } })).toBeUndefined()
    await simulate.sleep(0)
    expect(page.data.on).toBe(false)
    expect(textOf(page.querySelector('.error'))).toBe(message)
    expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: message }))
  })

  test('in English the state is explained in English', async () => {
    const { page } = await open('newsletter', {
      'GET /me': { status: 200, body: withEmail },
      'GET /subscriptions': { status: 200, body: { state: 'pending' } },
    }, { getAppBaseInfo: () => ({ language: 'en' }) })
    expect(textOf(page)).toContain('Pending: open the mail we sent to zhang@example.com')
    expect(textOf(page)).toContain('Receive the Xometry newsletter')
  })
})

describe('data-protection requests', () => {
  const answered = {
    id: 'r1', kind: 'copy', kind_name: '获取我的个人信息副本', status: 'answered', status_name: '已答复', details: null, processor: null,
    created_at: '2026-03-02T08:00:00Z', due_on: '2026-03-23', overdue: false, answer: '副本已发送到您的邮箱。', answered_at: '2026-03-04T08:00:00Z', decline_reason: null,
  }

  test('the list shows names, status, due date and the answer, never the codes', async () => {
    const { page } = await open('requests', { 'GET /privacy-requests': { status: 200, body: [answered] } })
    const shown = textOf(page)
    expect(shown).toContain('获取我的个人信息副本')
    expect(shown).toContain('已答复')
    expect(shown).toContain('2026-03-23')
    expect(shown).toContain('副本已发送到您的邮箱。')
    expect(shown).not.toMatch(/\banswered\b|\bcopy\b/)
  })

  test('a transfer asks for the processor; the server\'s message is shown by field, then the request is listed', async () => {
    const filed = []
    const { page, api } = await open('requests', {
      'GET /privacy-requests': () => ({ status: 200, body: filed }),
      'POST /privacy-requests': ({ data }) => {
        if (!data.kind) return invalid({ kind: '请选择您需要的事项。' })
        if (data.kind === 'transfer' && !data.processor) return invalid({ processor: '请填写接收您个人信息的处理者名称。' })
        const made = { ...answered, id: 'r2', kind: data.kind, kind_name: '将我的个人信息转移给其他处理者', status: 'open', status_name: '已收到', processor: data.processor, details: data.details, answer: null, answered_at: null }
        filed.unshift(made)
        return { status: 201, body: made }
      },
    })
    expect(textOf(page)).toContain('您还没有提交过申请。')
    expect(page.data.kinds).toHaveLength(8)
    await page.instance.submit()
    await simulate.sleep(0)
    expect(textOf(page)).toContain('请选择您需要的事项。')

    expect(page.querySelector('#processor')).toBeUndefined()
    page.instance.onKind({ detail: { value: '1' } })
    await simulate.sleep(0)
    expect(textOf(page)).toContain('将我的个人信息转移给其他处理者')
    expect(page.querySelector('#processor')).toBeDefined()
    type(page, 'details', '请转移到新的供应商平台。')
    await page.instance.submit()
    await simulate.sleep(0)
    expect(textOf(page)).toContain('请填写接收您个人信息的处理者名称。')

    type(page, 'processor', '某某云制造平台')
    const made = await page.instance.submit()
    expect(made.id).toBe('r2')
    expect(api.calls.filter((c) => c.method === 'POST').pop().data).toEqual({ kind: 'transfer', details: '请转移到新的供应商平台。', processor: '某某云制造平台' })
    await simulate.sleep(0)
    const shown = textOf(page)
    expect(shown).toContain('已收到')
    expect(shown).toContain('某某云制造平台')
    expect(page.data.kindIndex).toBe(-1) // the form is empty again
    expect(page.querySelector('#processor')).toBeUndefined()
  })

  test('the kinds follow a language chosen meanwhile', async () => {
    const { page } = await open('requests', { 'GET /privacy-requests': { status: 200, body: [] } })
    expect(page.data.kinds[7]).toBe('其他事项')
    require('../utils/i18n').setLang('en')
    page.instance.onShow()
    await simulate.sleep(0)
    expect(page.data.kinds[7]).toBe('Something else')
    expect(textOf(page)).toContain('Make a request')
  })

  test('a kind other than transfer sends no processor', async () => {
    const { page, api } = await open('requests', {
      'GET /privacy-requests': { status: 200, body: [] },
      'POST /privacy-requests': ({ data }) => ({ status: 201, body: { ...answered, kind: data.kind, kind_name: '投诉', status: 'open', status_name: '已收到', answer: null } }),
    })
    page.instance.onKind({ detail: { value: '1' } })
    type(page, 'processor', '某某云制造平台')
    page.instance.onKind({ detail: { value: '6' } })
    await page.instance.submit()
    expect(api.calls.find((c) => c.method === 'POST').data).toEqual({ kind: 'complaint', details: null })
  })
})

test('the Personal Center leads to the password and newsletter pages, My data to the requests', async () => {
  const { page, wx } = await open('center', { 'GET /me': { status: 200, body: { ...withEmail, has_password: true, subscription: 'pending' } } })
  await page.instance.onShow()
  await simulate.sleep(0)
  const shown = textOf(page)
  expect(shown).toContain('已设置密码')
  expect(shown).toContain('待邮件确认')
  page.querySelector('#go-password').dispatchEvent('tap')
  page.querySelector('#go-newsletter').dispatchEvent('tap')
  await simulate.sleep(0)
  expect(wx.navigateTo.mock.calls.map((c) => c[0].url)).toEqual(['/pages/password/password', '/pages/newsletter/newsletter'])

  const mydata = await open('mydata', { 'GET /my-data': { status: 200, body: { categories: [] } }, 'GET /me': { status: 200, body: me } })
  mydata.page.querySelector('#go-requests').dispatchEvent('tap')
  await simulate.sleep(0)
  expect(mydata.wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/requests/requests' })
})
