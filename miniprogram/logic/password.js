// The password (Personal Center): change it with the current one, or set a first one — offered
// only to an account with an e-mail address, since a password signs in together with it on the
// website. A first password needs a recent sign-in: a silent wx.login when the server asks.
const { page } = require('./base')
const api = require('../utils/api')
const i18n = require('../utils/i18n')
const { withFreshSignIn } = require('../utils/reauth')

const EMPTY = { current_password: '', new_password: '', new_password_confirm: '' }

module.exports = page({
  titleKey: 'password_title',
  data: { loaded: false, hasPassword: false, hasEmail: false, form: EMPTY, done: false },
  async onLoad() {
    if (!this.requireSignIn()) return
    await this.load()
  },
  async load() {
    try {
      const me = await api.get('/me')
      this.setData({ loaded: true, hasPassword: !!me.has_password, hasEmail: !!me.email })
    } catch (error) {
      this.fail(error)
    }
  },
  onInput(e) {
    this.setData({ [`form.${e.currentTarget.dataset.field}`]: e.detail.value, done: false })
  },
  // The repeat is checked here, as the website's form checks it; the rest is the server's.
  check() {
    const form = this.data.form
    if (!form.new_password) return {}
    if (!form.new_password_confirm) return { new_password_confirm: i18n.t('password_repeat_missing') }
    if (form.new_password !== form.new_password_confirm) return { new_password_confirm: i18n.t('password_mismatch') }
    return {}
  },
  async save() {
    this.clearError()
    const fields = this.check()
    if (Object.keys(fields).length) {
      this.setData({ fields })
      return false
    }
    const body = { new_password: this.data.form.new_password }
    if (this.data.hasPassword) body.current_password = this.data.form.current_password
    this.setData({ busy: true })
    try {
      await withFreshSignIn(() => api.post('/me/password', body))
      this.setData({ busy: false, hasPassword: true, done: true, form: EMPTY })
      wx.showToast({ title: i18n.t('saved'), icon: 'success' })
      return true
    } catch (error) {
      this.fail(error)
      return false
    }
  },
})
