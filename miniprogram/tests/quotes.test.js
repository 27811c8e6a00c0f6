const { renderPage, textOf, installWx, fakeApi, signInAs, simulate } = require('./harness')
const { catalogue, options } = require('./catalogue_fixture')
const price = (unit, total) => ({
  instant: true, unit_price: unit, total, currency: 'CNY', lead_days: { standard: 10, expedited: 5 }, breaks: [],
  dfm: [{ code: 'thin_wall', severity: 'warning', message: '壁厚小于 1 mm，可能变形。' }], review_reason: null, review_message: null,
})
const livePrice = (unit, total, quoteTotal) => {
  const { review_reason: _r, review_message: _m, ...rest } = price(unit, total)
  return { ...rest, review: null, quote: { subtotal: quoteTotal, vat: '0.00', total: quoteTotal, complete: true } }
}
const quote = (total, partPrice, status = 'quoted') => ({
  ref: 'Q-TEST123', status, status_name: '已报价', process: 'cnc', process_name: 'CNC 加工', material: 'al6061', quantity: 5,
  part_count: 1, created_at: '2026-03-05T08:00:00Z', total, subtotal: total, vat: '0', currency: 'CNY', valid_until: '2026-04-04T08:00:00Z',
  parts: [{ id: 11, filename: 'bracket.stl', analysis_status: 'analysed', options, price: partPrice }],
})

test('the quote list shows each quote with its status name and ¥ total', async () => {
  installWx(fakeApi({
    'GET /quotes': { status: 200, body: { quotes: [{ ref: 'Q-TEST123', status: 'quoted', status_name: '已报价', process: 'cnc', process_name: 'CNC 加工', part_count: 1, created_at: '2026-03-05T08:00:00Z', total: '1234.5', currency: 'CNY' }] } },
  }))
  signInAs()
  const page = renderPage('quotes')
  await page.instance.onLoad({})
  await page.instance.onShow()
  await simulate.sleep(0)
  const shown = textOf(page)
  expect(shown).toContain('Q-TEST123')
  expect(shown).toContain('已报价')
  expect(shown).toContain('CNC 加工')
  expect(shown).toContain('¥1,234.50')
  expect(shown).not.toContain('cnc ')
})

test('a signed-out visitor is sent to sign in', async () => {
  const wx = installWx(fakeApi({}))
  const page = renderPage('quotes')
  await page.instance.onLoad({})
  await page.instance.onShow()
  expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/signin/signin' })
})

test('a drawing chosen from a chat is uploaded with progress, then its quote opens', async () => {
  const progressSeen = []
  const wx = installWx(fakeApi({}), {
    chooseMessageFile: jest.fn((o) => o.success({ tempFiles: [{ path: 'wxfile://tmp_1.stl', name: 'bracket.stl', size: 2048 }] })),
    uploadFile: jest.fn((o) => {
      const listeners = []
      setTimeout(() => {
        listeners.forEach((fn) => fn({ progress: 55 }))
        o.success({ statusCode: 201, data: JSON.stringify(quote('120.00', price('24.00', '120.00'))) })
      }, 0)
      return { onProgressUpdate: (fn) => listeners.push((p) => { fn(p); progressSeen.push(page.data.progress) }) }
    }),
  })
  signInAs()
  const page = renderPage('upload')
  await page.instance.onLoad({})
  await page.instance.chooseFromChat()
  expect(wx.chooseMessageFile.mock.calls[0][0]).toMatchObject({ count: 1, type: 'file' })
  expect(wx.chooseMessageFile.mock.calls[0][0].extension).toContain('step')
  await simulate.sleep(0)
  expect(textOf(page)).toContain('bracket.stl')
  expect(textOf(page)).toContain('2.0 KB')
  await page.instance.submit()
  expect(wx.uploadFile.mock.calls[0][0]).toMatchObject({
    name: 'files',
    filePath: 'wxfile://tmp_1.stl',
    formData: { filename: 'bracket.stl' },
  })
  expect(progressSeen).toEqual([55])
  expect(wx.redirectTo).toHaveBeenCalledWith({ url: '/pages/quote/quote?ref=Q-TEST123' })
})

test('a photo from the album is explained, not sent', async () => {
  const wx = installWx(fakeApi({}), {
    chooseMedia: jest.fn((o) => o.success({ tempFiles: [{ tempFilePath: 'wxfile://tmp_2.jpg', size: 99 }] })),
    uploadFile: jest.fn(),
  })
  signInAs()
  const page = renderPage('upload')
  await page.instance.onLoad({})
  await page.instance.chooseFromPhone()
  await simulate.sleep(0)
  expect(textOf(page)).toContain('照片无法报价')
  await page.instance.submit()
  expect(wx.uploadFile).not.toHaveBeenCalled()
  await simulate.sleep(0)
  expect(textOf(page)).toContain('请先选择一个文件')
})

test('the quote shows prices in ¥, option names, and a changed option asks for the live price', async () => {
  const api = fakeApi({
    'GET /catalogue': { status: 200, body: catalogue },
    'GET /quotes/Q-TEST123': { status: 200, body: quote('120.00', price('24.00', '120.00')) },
    'GET /quotes/Q-TEST123/parts/11/price': ({ query }) => ({ status: 200, body: query.includes('material=ss304') ? livePrice('31.5', '157.5', '2157.5') : livePrice('24.00', '120.00', '120.00') }),
    'PUT /quotes/Q-TEST123/parts/11': ({ data }) => ({ status: 200, body: quote('157.50', price('31.5', '157.5')) }),
  })
  installWx(api)
  signInAs()
  const page = renderPage('quote')
  await page.instance.onLoad({ ref: 'Q-TEST123' })
  await simulate.sleep(0)
  let shown = textOf(page)
  expect(shown).toContain('bracket.stl')
  expect(shown).toContain('¥24.00')
  expect(shown).toContain('¥120.00')
  expect(shown).toContain('铝合金 6061')
  expect(shown).toContain('壁厚小于 1 mm')
  expect(shown).not.toContain('al6061')

  page.instance.edit({ currentTarget: { dataset: { id: 11 } } })
  await page.instance.onOptionsChange({ detail: { options: { ...options, material: 'ss304' } } })
  const asked = api.calls.find((c) => c.path.endsWith('/price'))
  expect(asked.query).toContain('material=ss304')
  expect(asked.query).toContain('quantity=5')
  await simulate.sleep(0)
  shown = textOf(page.querySelector('.live'))
  expect(shown).toContain('¥31.50')
  expect(shown).toContain('¥157.50')
  expect(shown).toContain('¥2,157.50') // the quote's total once saved

  await page.instance.savePart()
  expect(api.calls.find((c) => c.method === 'PUT').data).toMatchObject({ material: 'ss304', quantity: 5 })
  await simulate.sleep(0)
  expect(textOf(page)).toContain('¥157.50')
  expect(page.data.editing).toBe(null)
})

test('accepting the quote sends the lead time and address codes and opens the order', async () => {
  const api = fakeApi({
    'GET /catalogue': { status: 200, body: catalogue },
    'GET /quotes/Q-TEST123': { status: 200, body: quote('120.00', price('24.00', '120.00')) },
    'GET /addresses': { status: 200, body: [{ id: 4, recipient: '张伟', region: '上海市 市辖区 浦东新区', address: '张江路 88 号' }] },
    'POST /quotes/Q-TEST123/accept': { status: 201, body: { number: 'XA-1001' } },
  })
  const wx = installWx(api)
  signInAs()
  const page = renderPage('quote')
  await page.instance.onLoad({ ref: 'Q-TEST123' })
  await page.instance.startAccept()
  await simulate.sleep(0)
  expect(textOf(page)).toContain('标准（10 天）')
  expect(textOf(page)).toContain('张伟 · 上海市 市辖区 浦东新区 张江路 88 号')
  page.instance.onLeadChange({ detail: { value: '1' } })
  await page.instance.confirmAccept()
  expect(api.calls.find((c) => c.path.endsWith('/accept')).data).toEqual({ lead_time: 'expedited', address_id: 4 })
  expect(wx.redirectTo).toHaveBeenCalledWith({ url: '/pages/order/order?number=XA-1001' })
})

test('without the catalogue the quote still shows, without option pickers', async () => {
  installWx(fakeApi({ 'GET /quotes/Q-TEST123': { status: 200, body: quote('120.00', price('24.00', '120.00')) } }))
  signInAs()
  const page = renderPage('quote')
  await page.instance.onLoad({ ref: 'Q-TEST123' })
  await simulate.sleep(0)
  expect(textOf(page)).toContain('¥120.00')
  expect(page.querySelector('#edit-11')).toBeFalsy()
})
