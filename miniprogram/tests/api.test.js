const { installWx, fakeApi, signInAs, storage } = require('./harness')
const api = require('../utils/api')

const expiredBody = { error: { code: 'token_expired', message: '登录已过期，请重新登录。' } }

test('requests carry the bearer token and the language; answers come back as JSON', async () => {
  const site = fakeApi({ 'GET /me': { status: 200, body: { id: 7, name: '张伟' } } })
  installWx(site)
  signInAs()
  expect(await api.get('/me')).toEqual({ id: 7, name: '张伟' })
  expect(site.calls[0].header.Authorization).toBe('Bearer access-1')
  expect(site.calls[0].header['Accept-Language']).toBe('zh-CN')
})

test("an error shows the server's own message and field messages", async () => {
  const site = fakeApi({
    'POST /addresses': {
      status: 422,
      body: { error: { code: 'invalid', message: '部分内容缺失或无效。', fields: { postal_code: '邮政编码为六位数字。' } } },
    },
  })
  installWx(site)
  signInAs()
  await expect(api.post('/addresses', {})).rejects.toMatchObject({
    status: 422,
    message: '部分内容缺失或无效。',
    fields: { postal_code: '邮政编码为六位数字。' },
  })
})

test('an expired access token is refreshed once, the refresh token rotated, the request repeated', async () => {
  let refreshes = 0
  const site = fakeApi({
    'GET /me': ({ header }) =>
      header.Authorization === 'Bearer access-2' ? { status: 200, body: { id: 7 } } : { status: 401, body: expiredBody },
    'GET /quotes': ({ header }) =>
      header.Authorization === 'Bearer access-2' ? { status: 200, body: { quotes: [] } } : { status: 401, body: expiredBody },
    'POST /session/refresh': ({ data }) => {
      refreshes += 1
      expect(data).toEqual({ refresh_token: 'refresh-1' })
      return { status: 200, body: { access_token: 'access-2', refresh_token: 'refresh-2', registered: true } }
    },
  })
  installWx(site)
  signInAs()
  // two requests find the token expired at once: one refresh (a second would spend a spent token)
  const [me, quotes] = await Promise.all([api.get('/me'), api.get('/quotes')])
  expect(me).toEqual({ id: 7 })
  expect(quotes).toEqual({ quotes: [] })
  expect(refreshes).toBe(1)
  expect(storage.get('xa_tokens')).toMatchObject({ access_token: 'access-2', refresh_token: 'refresh-2' })
})

test('a refused refresh ends the sign-in on the phone with the server message', async () => {
  const site = fakeApi({
    'GET /me': { status: 401, body: expiredBody },
    'POST /session/refresh': { status: 401, body: { error: { code: 'unauthorized', message: '请重新登录。' } } },
  })
  installWx(site)
  signInAs()
  await expect(api.get('/me')).rejects.toMatchObject({ status: 401, message: '请重新登录。' })
  expect(storage.has('xa_tokens')).toBe(false)
})

test('no connection is said plainly in the language of the phone', async () => {
  installWx(fakeApi({ 'GET /policy': 'offline' }), { getAppBaseInfo: () => ({ language: 'en' }) })
  await expect(api.get('/policy', { auth: false })).rejects.toMatchObject({
    code: 'network',
    message: 'No connection. Please check the network and try again.',
  })
})

test("an upload sends the file as 'files' with the token and reports its progress", async () => {
  const progress = []
  let sent = null
  const wx = installWx(fakeApi({}), {
    uploadFile: jest.fn((options) => {
      sent = options
      const listeners = []
      setTimeout(() => {
        listeners.forEach((fn) => fn({ progress: 40 }))
        listeners.forEach((fn) => fn({ progress: 100 }))
        options.success({ statusCode: 201, data: JSON.stringify({ ref: 'Q-ABC' }) })
      }, 0)
      return { onProgressUpdate: (fn) => listeners.push(fn) }
    }),
  })
  signInAs()
  const quote = await api.upload('/quotes', 'wxfile://tmp_5f2a.stl', (p) => progress.push(p), { filename: 'bracket.stl' })
  expect(quote).toEqual({ ref: 'Q-ABC' })
  expect(wx.uploadFile).toHaveBeenCalledTimes(1)
  expect(sent.name).toBe('files')
  expect(sent.formData).toEqual({ filename: 'bracket.stl' }) // WeChat's own name is temporary
  expect(sent.url).toMatch(/\/api\/mp\/v1\/quotes$/)
  expect(sent.header.Authorization).toBe('Bearer access-1')
  expect(progress).toEqual([40, 100])
})
