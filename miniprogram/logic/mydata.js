// My data (the policy's rights): what is held by category, what the Mini Program collected, a
// copy to download, data-protection requests, the consents and their withdrawal, the separate
// consent to each named third party (given with a ticked box, withdrawn at once), and
// deregistration.
const { page, call } = require('./base')
const api = require('../utils/api')
const i18n = require('../utils/i18n')
const session = require('../utils/session')
const format = require('../utils/format')
const { withFreshSignIn } = require('../utils/reauth')

function exportView(e) {
  return {
    id: e.id,
    statusName: e.status_name,
    created: format.date(e.created_at),
    size: format.bytes(e.size),
    ready: !!e.downloadable,
  }
}

// A recipient that needs separate consent, as the site names it (never a code).
function thirdPartyView(r) {
  return {
    id: r.recipient_id,
    name: r.name,
    purpose: r.purpose,
    receives: (r.categories || []).join(i18n.lang() === 'en' ? ', ' : '、'),
    location: r.location,
    abroad: !!r.outside_mainland,
    contact: r.contact || '',
    inUse: !!r.in_use,
    given: !!r.given,
    givenAt: format.date(r.given_at),
  }
}

function consentsView(answer) {
  return {
    consents: (answer.in_force || []).map((c) => ({ kind: c.kind, name: c.name, withdrawable: c.withdrawable })),
    history: (answer.history || []).map((c) => ({
      name: c.name,
      edition: c.edition,
      given: format.date(c.given_at),
      withdrawn: format.date(c.withdrawn_at),
    })),
    thirdParties: (answer.third_parties || []).map(thirdPartyView),
  }
}

module.exports = page({
  titleKey: 'mydata_title',
  data: {
    categories: [], exports: [], consents: [], history: [], thirdParties: [], agreed: {}, collected: null,
    hasPassword: false, confirmDeregister: false, password: '', erasureDate: '', open: '',
  },
  async onLoad() {
    if (!this.requireSignIn()) return
    await this.load()
  },
  async load() {
    try {
      const [data, me] = await Promise.all([api.get('/my-data'), api.get('/me')])
      this.setData({ categories: data.categories, hasPassword: !!me.has_password })
    } catch (error) {
      this.fail(error)
      return
    }
    // the rights' endpoints: each section shows what it could read
    await Promise.all([this.loadExports(), this.loadConsents(), this.loadCollected()])
  },
  toggle(e) {
    const key = e.currentTarget.dataset.key
    this.setData({ open: this.data.open === key ? '' : key })
  },
  async loadExports() {
    try {
      this.setData({ exports: (await api.get('/exports')).map(exportView) })
    } catch (_e) {
      this.setData({ exports: [] })
    }
  },
  async loadConsents() {
    try {
      this.setData(consentsView(await api.get('/consents')))
    } catch (_e) {
      this.setData({ consents: [], history: [], thirdParties: [] })
    }
  },
  async loadCollected() {
    try {
      const c = await api.get('/collected')
      this.setData({
        collected: {
          phone: c.phone || '',
          phoneAt: format.date(c.phone_verified_at, false),
          linkedAt: format.date(c.linked_at, false),
          uploads: c.uploads,
          signIns: c.sign_ins,
        },
      })
    } catch (_e) {
      this.setData({ collected: null })
    }
  },
  async requestExport() {
    this.clearError()
    try {
      const made = await api.post('/exports')
      wx.showToast({ title: i18n.t('export_requested'), icon: 'none' })
      await this.loadExports()
      return made
    } catch (error) {
      this.fail(error)
      return undefined
    }
  },
  // The zip into a temporary file, then WeChat's share sheet to keep it (send it to a chat).
  async downloadExport(e) {
    const id = e.currentTarget.dataset.id
    try {
      const filePath = await api.download(`/exports/${id}/download`)
      if (typeof wx.shareFileMessage === 'function') {
        await call('shareFileMessage', { filePath, fileName: `xometry-my-data-${id}.zip` })
      }
      return filePath
    } catch (error) {
      if (error instanceof api.ApiError) this.fail(error)
      return undefined
    }
  },
  async withdraw(e) {
    const kind = e.currentTarget.dataset.kind
    const answer = await call('showModal', { title: i18n.t('withdraw_title'), content: i18n.t('withdraw_text') })
    if (!answer.confirm) return undefined
    try {
      const result = await api.post(`/consents/${encodeURIComponent(kind)}/withdraw`)
      this.setData(consentsView(result))
      return result
    } catch (error) {
      this.fail(error)
      return undefined
    }
  },
  onAgreeThirdParty(e) {
    const id = e.currentTarget.dataset.id
    this.setData({ [`agreed.${id}`]: (e.detail.value || []).length > 0 })
  },
  // The separate consent to one recipient: only with its box ticked, as on the website.
  async giveThirdParty(e) {
    const id = e.currentTarget.dataset.id
    this.clearError()
    if (!this.data.agreed[id]) {
      this.setData({ error: i18n.t('third_party_agree_first') })
      return undefined
    }
    try {
      const result = await api.post(`/consents/third-parties/${encodeURIComponent(id)}`, { agree: true })
      this.setData({ ...consentsView(result), [`agreed.${id}`]: false })
      wx.showToast({ title: i18n.t('third_party_given_toast'), icon: 'none' })
      return result
    } catch (error) {
      this.fail(error)
      return undefined
    }
  },
  async withdrawThirdParty(e) {
    const id = e.currentTarget.dataset.id
    const answer = await call('showModal', { title: i18n.t('withdraw_title'), content: i18n.t('third_party_withdraw_text') })
    if (!answer.confirm) return undefined
    this.clearError()
    try {
      const result = await api.post(`/consents/third-parties/${encodeURIComponent(id)}/withdraw`)
      this.setData(consentsView(result))
      return result
    } catch (error) {
      this.fail(error)
      return undefined
    }
  },
  onConfirmDeregister(e) {
    this.setData({ confirmDeregister: (e.detail.value || []).length > 0 })
  },
  onPassword(e) {
    this.setData({ password: e.detail.value })
  },
  async deregister() {
    this.clearError()
    if (!this.data.confirmDeregister) {
      this.setData({ error: i18n.t('deregister_confirm_first') })
      return undefined
    }
    const body = { confirm: true }
    if (this.data.hasPassword) body.password = this.data.password
    this.setData({ busy: true })
    try {
      const answer = await withFreshSignIn(() => api.post('/deregistration', body))
      session.clear()
      this.setData({ busy: false, erasureDate: format.date(answer.erasure_date, false) })
      return answer
    } catch (error) {
      this.fail(error)
      return undefined
    }
  },
  openRequests() {
    wx.navigateTo({ url: '/pages/requests/requests' })
  },
  home() {
    wx.reLaunch({ url: '/pages/index/index' })
  },
})
