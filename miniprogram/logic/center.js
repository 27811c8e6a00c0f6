// Personal Center: the account (masked), its default address and invoice details, and the way to
// the pages that change them (password and newsletter too), My data, the policy and signing out.
const { page } = require('./base')
const api = require('../utils/api')
const i18n = require('../utils/i18n')
const session = require('../utils/session')
const format = require('../utils/format')

const NEWSLETTER = { subscribed: 'newsletter_on', pending: 'newsletter_pending' }

function meView(me) {
  const address = me.default_address
  return {
    name: me.name || '',
    phone: me.phone || '',
    email: me.email || '',
    jobTitle: me.job_title || '',
    customerTypeName: me.customer_type_name || '',
    language: me.preferred_language ? i18n.t(`language_${me.preferred_language}`) : '',
    wechatBound: me.wechat_bound,
    since: format.date(me.created_at, false),
    address: address ? `${address.recipient} · ${address.region} ${address.address}` : '',
    addressCount: me.address_count,
    password: i18n.t(me.has_password ? 'password_is_set' : 'password_not_set'),
    newsletter: i18n.t(NEWSLETTER[me.subscription] || 'newsletter_off'),
    invoice: me.invoice ? `${me.invoice.fapiao_type_name}${me.invoice.name ? ' · ' + me.invoice.name : ''}` : '',
  }
}

module.exports = page({
  titleKey: 'center_title',
  data: { me: null },
  onShow() {
    if (!this.requireSignIn()) return undefined
    return this.load()
  },
  async load() {
    try {
      const me = await api.get('/me')
      if (me.preferred_language && me.preferred_language !== i18n.lang()) {
        i18n.setLang(me.preferred_language)
        this.setData({ t: i18n.strings(), lang: i18n.lang() })
      }
      this.setData({ me: meView(me) })
    } catch (error) {
      this.fail(error)
    }
  },
  go(e) {
    const target = e.currentTarget.dataset.page
    wx.navigateTo({ url: `/pages/${target}/${target}` })
  },
  async signOut() {
    try {
      await api.del('/session')
    } catch (_e) {
      // signed out on the phone either way
    }
    session.clear()
    wx.reLaunch({ url: '/pages/index/index' })
  },
})

module.exports.meView = meView
