// One shipping address: WeChat's region picker gives the province, city and district codes the
// site checks (GB/T 2260); the phone is typed again on each save (the site only shows it masked).
const { page } = require('./base')
const api = require('../utils/api')
const i18n = require('../utils/i18n')

const EMPTY = { organization: '', recipient: '', address: '', phone: '', postal_code: '', province: '', city: '', district: '', is_default: false }

module.exports = page({
  titleKey: 'address_title',
  data: { form: EMPTY, region: [], regionText: '', maskedPhone: '', id: null },
  async onLoad(query) {
    if (!this.requireSignIn()) return
    if (!query.id) return
    const id = Number(query.id)
    try {
      const found = (await api.get('/addresses')).find((a) => a.id === id)
      if (!found) {
        this.setData({ error: i18n.t('not_found') })
        return
      }
      this.setData({
        id,
        maskedPhone: found.phone,
        regionText: found.region,
        form: {
          organization: found.organization || '',
          recipient: found.recipient,
          address: found.address,
          phone: '',
          postal_code: found.postal_code || '',
          province: found.province,
          city: found.city,
          district: found.district || '',
          is_default: found.is_default,
        },
      })
    } catch (error) {
      this.fail(error)
    }
  },
  onInput(e) {
    this.setData({ [`form.${e.currentTarget.dataset.field}`]: e.detail.value })
  },
  onDefault(e) {
    this.setData({ 'form.is_default': !!e.detail.value })
  },
  // <picker mode="region">: detail.value the names, detail.code the codes.
  onRegion(e) {
    const code = e.detail.code || []
    this.setData({
      region: e.detail.value,
      regionText: (e.detail.value || []).join(' '),
      'form.province': code[0] || '',
      'form.city': code[1] || '',
      'form.district': code[2] || '',
    })
  },
  async save() {
    this.clearError()
    this.setData({ busy: true })
    const body = { ...this.data.form, district: this.data.form.district || null, organization: this.data.form.organization || null }
    try {
      const saved = this.data.id
        ? await api.put(`/addresses/${this.data.id}`, body)
        : await api.post('/addresses', body)
      this.setData({ busy: false })
      wx.navigateBack({ delta: 1 })
      return saved
    } catch (error) {
      this.fail(error)
      return undefined
    }
  },
})
