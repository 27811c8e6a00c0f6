// Edit the profile the website's profile form edits (PATCH /me); the language chosen here is
// the Mini Program's language too.
const { page } = require('./base')
const api = require('../utils/api')
const i18n = require('../utils/i18n')

const CUSTOMER_TYPES = ['', 'company', 'individual', 'education', 'other']
const LANGUAGES = ['', 'zh_CN', 'en']

function labels(t) {
  return {
    customerTypes: CUSTOMER_TYPES.map((code) => t[`customer_type_${code || 'none'}`]),
    languages: LANGUAGES.map((code) => t[`language_${code || 'none'}`]),
  }
}

module.exports = page({
  titleKey: 'profile_title',
  data: { form: { name: '', job_title: '', invoice_email: '' }, customerTypeIndex: 0, languageIndex: 0, customerTypes: [], languages: [] },
  async onLoad() {
    this.setData(labels(this.data.t))
    if (!this.requireSignIn()) return
    try {
      const me = await api.get('/me')
      this.setData({
        form: { name: me.name || '', job_title: me.job_title || '', invoice_email: me.invoice_email || '' },
        customerTypeIndex: Math.max(0, CUSTOMER_TYPES.indexOf(me.customer_type || '')),
        languageIndex: Math.max(0, LANGUAGES.indexOf(me.preferred_language || '')),
      })
    } catch (error) {
      this.fail(error)
    }
  },
  onInput(e) {
    this.setData({ [`form.${e.currentTarget.dataset.field}`]: e.detail.value })
  },
  onCustomerType(e) {
    this.setData({ customerTypeIndex: Number(e.detail.value) })
  },
  onLanguage(e) {
    this.setData({ languageIndex: Number(e.detail.value) })
  },
  async save() {
    this.clearError()
    this.setData({ busy: true })
    const body = {
      ...this.data.form,
      customer_type: CUSTOMER_TYPES[this.data.customerTypeIndex] || null,
      preferred_language: LANGUAGES[this.data.languageIndex] || null,
    }
    try {
      const me = await api.patch('/me', body)
      if (me.preferred_language) i18n.setLang(me.preferred_language)
      this.setData({ busy: false, t: i18n.strings(), lang: i18n.lang(), ...labels(i18n.strings()) })
      wx.showToast({ title: i18n.t('saved'), icon: 'success' })
      return me
    } catch (error) {
      this.fail(error)
      return undefined
    }
  },
})
