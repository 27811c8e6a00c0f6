const { renderPage, textOf, installWx, fakeApi, signInAs, simulate } = require('./harness')

const order = (status, statusName) => ({
  number: 'XA-2026-000101', status, status_name: statusName, total: '1404.00', currency: 'CNY', placed_at: '2026-03-05T08:00:00Z',
  quote_ref: 'Q-TEST123', next_step: '请付款：微信支付或银行转账。', subtotal: '1242.48', vat: '161.52',
  amount_paid: status === 'paid' ? '1404.00' : '0.00', outstanding: status === 'paid' ? '0.00' : '1404.00',
  lead_time: 'standard', lead_time_name: '标准交期', lead_days: 10,
  timeline: [{ status: 'placed', note: null, name: '订单已提交', at: '2026-03-05T08:00:00Z' }],
  parts: [{ name: 'bracket.stl', drawings: ['bracket.stl'], process: 'cnc', process_name: 'CNC 加工', material: 'al6061', material_name: '铝合金 6061', finish: 'none', finish_name: '原始状态', quantity: 5, tolerance: 'iso2768m', tolerance_name: 'ISO 2768-m', threads: 0, inspection: 'standard', inspection_name: '标准检验', unit_price: '280.80', line_total: '1404.00' }],
  bank_transfer: status === 'paid' ? null : { account_name: '示例制造有限公司', bank: '招商银行上海分行', account_number: '1219 0000 0000 001', amount: '1404.00', remittance_reference: 'XA2026000101' },
  wechat_pay: status !== 'paid',
  shipping: { carrier: null, carrier_name: null, tracking_number: null, tracking_url: null, ship_by: '2026-03-19', shipped_at: null, delivered_at: null },
  fapiao: { issued: false, number: null, issued_at: null },
  address: { recipient: '张伟', region: '上海市 浦东新区', address: '张江路 88 号' },
  invoice: { kind: 'corporate', fapiao_type: 'normal', fapiao_type_name: '电子普通发票', name: '示例公司' },
})
const payParams = { timeStamp: '1700000000', nonceStr: 'n0nce', package: 'prepay_id=wx123', signType: 'RSA', paySign: 'c2lnbg==' }

test('the order list shows number, status name, quote and ¥ total', async () => {
  installWx(fakeApi({ 'GET /orders': { status: 200, body: { orders: [{ number: 'XA-2026-000101', status: 'awaiting_payment', status_name: '待付款', total: '1404', currency: 'CNY', placed_at: '2026-03-05T08:00:00Z', quote_ref: 'Q-TEST123' }] } } }))
  signInAs()
  const page = renderPage('orders')
  await page.instance.onLoad({})
  await page.instance.onShow()
  await simulate.sleep(0)
  const shown = textOf(page)
  expect(shown).toContain('XA-2026-000101')
  expect(shown).toContain('待付款')
  expect(shown).toContain('¥1,404.00')
  expect(shown).not.toContain('awaiting_payment')
})

test('pay with WeChat: the server signs, wx.requestPayment gets exactly its fields, the order is asked again', async () => {
  let reads = 0
  const api = fakeApi({
    'GET /orders/XA-2026-000101': () => { reads += 1; return { status: 200, body: reads === 1 ? order('awaiting_payment', '待付款') : order('paid', '已付款') } },
    'POST /orders/XA-2026-000101/wechat-pay': { status: 200, body: payParams },
  })
  const wx = installWx(api, { requestPayment: jest.fn((o) => o.success({ errMsg: 'requestPayment:ok' })) })
  signInAs()
  const page = renderPage('order')
  await page.instance.onLoad({ number: 'XA-2026-000101' })
  await simulate.sleep(0)
  let shown = textOf(page)
  expect(shown).toContain('待付款')
  expect(shown).toContain('¥1,404.00')
  expect(shown).toContain('XA2026000101') // the remittance reference for a bank transfer
  expect(shown).toContain('bracket.stl × 5')
  expect(shown).toContain('CNC 加工 · 铝合金 6061 · 原始状态')
  expect(shown).toContain('标准交期')
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
    'GET /orders/XA-2026-000101': { status: 200, body: order('awaiting_payment', '待付款') },
    'POST /orders/XA-2026-000101/wechat-pay': { status: 200, body: payParams },
  })
  installWx(api, { requestPayment: jest.fn((o) => o.fail({ errMsg: 'requestPayment:fail cancel' })) })
  signInAs()
  const page = renderPage('order')
  await page.instance.onLoad({ number: 'XA-2026-000101' })
  await page.instance.pay()
  await simulate.sleep(0)
  expect(textOf(page)).toContain('您已取消支付')

  installWx(fakeApi({
    'GET /orders/XA-2026-000101': { status: 200, body: order('awaiting_payment', '待付款') },
    'POST /orders/XA-2026-000101/wechat-pay': { status: 409, body: { error: { code: 'already_paid', message: '此订单已付款。' } } },
  }), { requestPayment: jest.fn() })
  signInAs()
  await page.instance.pay()
  await simulate.sleep(0)
  expect(textOf(page)).toContain('此订单已付款')
  expect(global.wx.requestPayment).not.toHaveBeenCalled()
})
