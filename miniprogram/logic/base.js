// What every page shares: its strings in the customer's language, a title, the server's error
// message shown as sent, and the way back to sign-in when the sign-in has ended.
const i18n = require('../utils/i18n')
const session = require('../utils/session')

function clone(value) {
  return JSON.parse(JSON.stringify(value))
}

// A page definition (for Page() in WeChat, and for node's tests) with `t`, `error`, `busy`.
function page(def) {
  const data = { t: {}, error: '', fields: {}, busy: false, ...clone(def.data || {}) }
  const { onLoad, onShow } = def
  return {
    ...def,
    data,
    titleKey: def.titleKey,
    onLoad(query) {
      this.setData({ t: i18n.strings(), lang: i18n.lang() })
      setTitle(this)
      return onLoad ? onLoad.call(this, query || {}) : undefined
    },
    onShow() {
      if (this.data.lang && this.data.lang !== i18n.lang()) {
        this.setData({ t: i18n.strings(), lang: i18n.lang() })
        setTitle(this)
      }
      return onShow ? onShow.call(this) : undefined
    },
    // The server's message (already in the customer's language), field by field when given.
    fail(error) {
      const message = (error && error.message) || i18n.t('error_server')
      this.setData({ error: message, fields: (error && error.fields) || {}, busy: false })
      if (error && (error.status === 401 || error.code === 'registration_required')) {
        session.clear()
        wx.navigateTo({ url: '/pages/signin/signin' })
        return
      }
      wx.showToast({ title: message, icon: 'none', duration: 3000 })
    },
    clearError() {
      this.setData({ error: '', fields: {} })
    },
    // Pages that need an account send a signed-out visitor to sign in first.
    requireSignIn() {
      if (session.signedIn()) return true
      wx.navigateTo({ url: '/pages/signin/signin' })
      return false
    },
  }
}

function setTitle(instance) {
  const key = instance.titleKey
  if (key && typeof wx.setNavigationBarTitle === 'function') {
    wx.setNavigationBarTitle({ title: i18n.t(key) })
  }
}

// wx.* callback APIs as promises (success → resolve, fail → reject).
function call(name, options = {}) {
  return new Promise((resolve, reject) => {
    wx[name]({ ...options, success: resolve, fail: reject })
  })
}

module.exports = { page, call, clone }
