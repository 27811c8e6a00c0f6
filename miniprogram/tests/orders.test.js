const { renderPage, textOf, installWx, fakeApi, signInAs, simulate } = require('./harness')

const order = (status, statusName) => ({
  number: 'XA-1001', status, status_name: statusName, total: '1404', placed_at: '2026-03-05T08:00:00Z', quote_ref: 'Q-TEST123',
  timeline: [{ name: '订单已提交', at: '2026-03-05T08:00:00Z' }],
  parts: [{ filename: 'bracket.stl', quantity: 5, process_name: 'CNC 加工', material_name: '铝合金 6061' }],
  next_step: '请付款。', payable: status === 'awaiting_payment',
  bank_transfer: { account_name: '示例制造有限公司', bank: '招商银行上海分行', number: '1219 0000 0000 001', amount: '1404.00', reference: 'XA1001' },
  shipping: null, fapiao: { issued: false, number: null }, address: { recipient: '张伟', region: '上海市 浦东新区', address: '张江路 88 号' },
})
const payParams = { timeStamp: '1700000000', nonceStr: 'n0nce', package: 'prepay_id=wx123', signType: 'RSA', paySign: 'c2lnbg==' }

test('the order list shows number, status name, quote and ¥ total', async () => {
  installWx(fakeApi({ 'GET /orders': { status: 200, body: [{ number: 'XA-1001', status: 'awaiting_payment', status_name: '待付款', total: '1404', placed_at: '2026-03-05T08:00:00Z', quote_ref: 'Q-TEST123' }] } }))
  signInAs()
  const page = renderPage('orders')
  await page.instance.onLoad({})
  await page.instance.onShow()
  await simulate.sleep(0)
  const shown = textOf(page)
  expect(shown).toContain('XA-1001')
  expect(shown).toContain('待付款')
  expect(shown).toContain('¥1,404.00')
  expect(shown).not.toContain('awaiting_payment')
})

test('pay with WeChat: the server signs, wx.requestPayment gets exactly its fields, the order is asked again', async () => {
  let reads = 0
  const api = fakeApi({
    'GET /orders/XA-1001': () => { reads += 1; return { status: 200, body: reads === 1 ? order('awaiting_payment', '待付款') : order('paid', '已付款') } },
    'POST /orders/XA-1001/wechat-pay': { status: 200, body: payParams },
  })
  const wx = installWx(api, { requestPayment: jest.fn((o) => o.success({ errMsg: 'requestPayment:ok' })) })
  signInAs()
  const page = renderPage('order')
  await page.instance.onLoad({ number: 'XA-1001' })
  await simulate.sleep(0)
  let shown = textOf(page)
  expect(shown).toContain('待付款')
  expect(shown).toContain('¥1,404.00')
  expect(shown).toContain('XA1001') // the remittance reference for a bank transfer
  expect(shown).toContain('bracket.stl × 5')
  await page.instance.pay()
  const sent = wx.requestPayment.mock.calls[0][0]
  expect({ ...sent, success: undefined, fail: undefined }).toEqual({ ...payParams, success: undefined, fail: undefined })
  await simulate.sleep(0)
  shown = textOf(page)
  expect(shown).toContain('已付款') // what the server says after its notification, not the phone
  expect(page.querySelector('#pay')).toBeFalsy()
})

test('a cancelled payment is said plainly; a server refusal shows its message', async () => {
  const api = fakeApi({
    'GET /orders/XA-1001': { status: 200, body: order('awaiting_payment', '待付款') },
    'POST /orders/XA-1001/wechat-pay': { status: 200, body: payParams },
  })
  installWx(api, { requestPayment: jest.fn((o) => o.fail({ errMsg: 'requestPayment:fail cancel' })) })
  signInAs()
  const page = renderPage('order')
  await page.instance.onLoad({ number: 'XA-1001' })
  await page.instance.pay()
  await simulate.sleep(0)
  expect(textOf(page)).toContain('您已取消支付')

  installWx(fakeApi({
    'GET /orders/XA-1001': { status: 200, body: order('awaiting_payment', '待付款') },
    'POST /orders/XA-1001/wechat-pay': { status: 409, body: { error: { code: 'already_paid', message: '此订单已付款。' } } },
  }), { requestPayment: jest.fn() })
  signInAs()
  await page.instance.pay()
  await simulate.sleep(0)
  expect(textOf(page)).toContain('此订单已付款')
  expect(global.wx.requestPayment).not.toHaveBeenCalled()
})
