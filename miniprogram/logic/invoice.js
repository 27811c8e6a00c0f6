// Invoice (fapiao) details as the website's invoice form takes them; the tax number and bank
// account are typed again (the site only shows them masked); a national ID number as the tax
// number needs its own consent (sensitive personal information).
const { page, call } = require('./base')
const api = require('../utils/api')
const i18n = require('../utils/i18n')
const { withFreshSignIn } = require('../utils/reauth')

const KINDS = ['corporate', 'personal']
const TYPES = ['normal', 'special']
const EMPTY = {
  company_name: '', name: '', tax_number: '', company_address: '', company_phone: '',
  address: '', postal_code: '', bank_name: '', bank_account: '', invoice_email: '',
  province: '', city: '', district: '',
}

module.exports = page({
  titleKey: 'invoice_title',
  data: { saved: null, editing: false, form: EMPTY, kindIndex: 0, typeIndex: 0, consent: false, regionText: '' },
  async onLoad() {
    if (!this.requireSignIn()) return
    await this.load()
  },
  async load() {
    try {
      this.setData({ saved: await api.get('/invoice'), editing: false })
    } catch (error) {
      if (error.status === 404) this.setData({ saved: null, editing: false })
      else this.fail(error)
    }
  },
  edit() {
    const saved = this.data.saved
    this.setData({
      editing: true,
      kindIndex: saved ? Math.max(0, KINDS.indexOf(saved.kind)) : 0,
      typeIndex: saved ? Math.max(0, TYPES.indexOf(saved.fapiao_type)) : 0,
      form: { ...EMPTY, invoice_email: (saved && saved.invoice_email) || '', bank_name: (saved && saved.bank_name) || '' },
    })
  },
  onInput(e) {
    this.setData({ [`form.${e.currentTarget.dataset.field}`]: e.detail.value })
  },
  onKind(e) {
    this.setData({ kindIndex: Number(e.detail.value) })
  },
  onType(e) {
    this.setData({ typeIndex: Number(e.detail.value) })
  },
  onConsent(e) {
    this.setData({ consent: (e.detail.value || []).length > 0 })
  },
  onRegion(e) {
    const code = e.detail.code || []
    this.setData({ regionText: (e.detail.value || []).join(' '), 'form.province': code[0] || '', 'form.city': code[1] || '', 'form.district': code[2] || '' })
  },
  async save() {
    this.clearError()
    this.setData({ busy: true })
    const body = { ...this.data.form, kind: KINDS[this.data.kindIndex], fapiao_type: TYPES[this.data.typeIndex], consent_sensitive: KINDS[this.data.kindIndex] === 'personal' && this.data.consent }
    try {
      const saved = await withFreshSignIn(() => api.put('/invoice', body))
      this.setData({ saved, editing: false, busy: false })
      wx.showToast({ title: i18n.t('saved'), icon: 'success' })
    } catch (error) {
      this.fail(error)
    }
  },
  async remove() {
    const answer = await call('showModal', { title: i18n.t('invoice_delete_title'), content: i18n.t('invoice_delete_text') })
    if (!answer.confirm) return
    try {
      await withFreshSignIn(() => api.del('/invoice'))
      this.setData({ saved: null })
    } catch (error) {
      this.fail(error)
    }
  },
})
