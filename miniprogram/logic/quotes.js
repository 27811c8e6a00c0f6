// My quotes: newest first, with status and total as the website shows them.
const { page } = require('./base')
const api = require('../utils/api')
const format = require('../utils/format')

module.exports = page({
  titleKey: 'quotes_title',
  data: { quotes: [], loaded: false },
  onShow() {
    if (!this.requireSignIn()) return undefined
    return this.load()
  },
  async load() {
    try {
      const answer = await api.get('/quotes')
      const quotes = answer.quotes.map((q) => ({
        ref: q.ref,
        statusName: q.status_name,
        processName: q.process_name,
        partCount: q.part_count,
        created: format.date(q.created_at, false),
        total: format.money(q.total),
      }))
      this.setData({ quotes, loaded: true })
    } catch (error) {
      this.fail(error)
    }
  },
  onPullDownRefresh() {
    return this.load().then(() => wx.stopPullDownRefresh())
  },
  open(e) {
    wx.navigateTo({ url: `/pages/quote/quote?ref=${encodeURIComponent(e.currentTarget.dataset.ref)}` })
  },
  newQuote() {
    wx.navigateTo({ url: '/pages/upload/upload' })
  },
})
