// One order: status and timeline, parts, total, how to pay (WeChat Pay or bank transfer),
// shipping and the fapiao. Payment is confirmed by the server's signed notification only, so
// after wx.requestPayment the page asks the server again rather than trusting the phone.
const { page, call } = require('./base')
const api = require('../utils/api')
const i18n = require('../utils/i18n')
const format = require('../utils/format')

function orderView(o) {
  const bank = o.bank_transfer
  const shipping = o.shipping || {}
  const fapiao = o.fapiao || {}
  return {
    number: o.number,
    status: o.status,
    statusName: o.status_name,
    total: format.money(o.total),
    outstanding: format.money(o.outstanding),
    owing: !!o.outstanding && Number(o.outstanding) > 0,
    leadTimeName: o.lead_time_name || '',
    nextStep: o.next_step || '',
    timeline: (o.timeline || []).map((ev) => ({ name: ev.name, note: ev.note || '', at: format.date(ev.at) })),
    parts: (o.parts || []).map((p) => ({
      name: p.name,
      quantity: p.quantity,
      names: [p.process_name, p.material_name, p.finish_name].filter(Boolean).join(' · '),
      total: format.money(p.line_total),
    })),
    payable: !!o.wechat_pay,
    bank: bank
      ? {
          accountName: bank.account_name,
          bank: bank.bank,
          number: bank.account_number,
          amount: format.money(bank.amount),
          reference: bank.remittance_reference,
        }
      : null,
    shipping:
      shipping.tracking_number || shipping.carrier_name
        ? { carrier: shipping.carrier_name, trackingNumber: shipping.tracking_number, trackingUrl: shipping.tracking_url }
        : null,
    fapiaoIssued: !!fapiao.issued,
    fapiaoNumber: fapiao.number || '',
    address: o.address ? [o.address.recipient, o.address.region, o.address.address].filter(Boolean).join(' ') : '',
  }
}

module.exports = page({
  titleKey: 'order_title',
  data: { order: null, paying: false },
  onLoad(query) {
    this.number = query.number
    if (!this.requireSignIn()) return undefined
    return this.load()
  },
  async load() {
    try {
      this.setData({ order: orderView(await api.get(`/orders/${encodeURIComponent(this.number)}`)) })
    } catch (error) {
      this.fail(error)
    }
  },
  // WeChat Pay (JSAPI): the server signs the request, the phone shows WeChat's payment sheet.
  async pay() {
    this.clearError()
    this.setData({ paying: true })
    try {
      const params = await api.post(`/orders/${encodeURIComponent(this.number)}/wechat-pay`)
      await call('requestPayment', {
        timeStamp: params.timeStamp,
        nonceStr: params.nonceStr,
        package: params.package,
        signType: params.signType,
        paySign: params.paySign,
      })
      wx.showToast({ title: i18n.t('pay_submitted'), icon: 'success' })
      this.setData({ paying: false })
      await this.load()
    } catch (error) {
      const message = error instanceof api.ApiError ? error.message
        : /cancel/i.test((error && error.errMsg) || '') ? i18n.t('pay_cancelled') : i18n.t('pay_failed')
      this.setData({ paying: false, error: message })
      if (error instanceof api.ApiError) this.fail(error)
    }
  },
  copy(e) {
    wx.setClipboardData({ data: String(e.currentTarget.dataset.text || '') })
  },
  async openFapiao() {
    try {
      const path = await api.download(`/orders/${encodeURIComponent(this.number)}/fapiao`)
      await call('openDocument', { filePath: path, showMenu: true })
    } catch (error) {
      this.fail(error)
    }
  },
})

module.exports.orderView = orderView
