// Shipping addresses: the default first; add, correct or delete one.
const { page, call } = require('./base')
const api = require('../utils/api')
const i18n = require('../utils/i18n')

module.exports = page({
  titleKey: 'addresses_title',
  data: { addresses: [], loaded: false },
  onShow() {
    if (!this.requireSignIn()) return undefined
    return this.load()
  },
  async load() {
    try {
      this.setData({ addresses: await api.get('/addresses'), loaded: true })
    } catch (error) {
      this.fail(error)
    }
  },
  add() {
    wx.navigateTo({ url: '/pages/address/address' })
  },
  edit(e) {
    wx.navigateTo({ url: `/pages/address/address?id=${e.currentTarget.dataset.id}` })
  },
  async remove(e) {
    const id = e.currentTarget.dataset.id
    const answer = await call('showModal', { title: i18n.t('address_delete_title'), content: i18n.t('address_delete_text') })
    if (!answer.confirm) return
    try {
      await api.del(`/addresses/${id}`)
      await this.load()
    } catch (error) {
      this.fail(error)
    }
  },
})
