// My orders: number, status by name, total and when placed.
const { page } = require('./base')
const api = require('../utils/api')
const format = require('../utils/format')

module.exports = page({
  titleKey: 'orders_title',
  data: { orders: [], loaded: false },
  onShow() {
    if (!this.requireSignIn()) return undefined
    return this.load()
  },
  async load() {
    try {
      const answer = await api.get('/orders')
      const rows = Array.isArray(answer) ? answer : answer.orders || []
      const orders = rows.map((o) => ({
        number: o.number,
        statusName: o.status_name,
        total: format.money(o.total),
        placed: format.date(o.placed_at, false),
        quoteRef: o.quote_ref,
      }))
      this.setData({ orders, loaded: true })
    } catch (error) {
      this.fail(error)
    }
  },
  onPullDownRefresh() {
    return this.load().then(() => wx.stopPullDownRefresh())
  },
  open(e) {
    wx.navigateTo({ url: `/pages/order/order?number=${encodeURIComponent(e.currentTarget.dataset.number)}` })
  },
})
