// Home: what the Mini Program offers, and the way in (sign-in) or on (quotes, orders, centre).
const { page } = require('./base')
const api = require('../utils/api')
const i18n = require('../utils/i18n')
const session = require('../utils/session')

module.exports = page({
  titleKey: 'app_name',
  data: { signedIn: false, name: '' },
  onShow() {
    const signedIn = session.signedIn()
    this.setData({ signedIn })
    if (!signedIn) return undefined
    return api.get('/me').then(
      (me) => this.setData({ name: me.name || me.phone || '' }),
      () => this.setData({ signedIn: session.signedIn() })
    )
  },
  go(e) {
    const target = e.currentTarget.dataset.page
    const open = target === 'policy' || session.signedIn()
    wx.navigateTo({ url: open ? `/pages/${target}/${target}` : '/pages/signin/signin' })
  },
  switchLanguage() {
    i18n.setLang(i18n.lang() === 'zh' ? 'en' : 'zh')
    this.setData({ t: i18n.strings(), lang: i18n.lang() })
    wx.setNavigationBarTitle({ title: i18n.t('app_name') })
  },
})
