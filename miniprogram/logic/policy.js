// The Data Protection Policy: the edition in force, its text, earlier editions and the page on the
// website (the link is copied: the website is outside the Mini Program).
const { page } = require('./base')
const api = require('../utils/api')
const i18n = require('../utils/i18n')

function paragraphs(text) {
  return String(text || '').split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean)
}

module.exports = page({
  titleKey: 'policy_title',
  data: { policy: null, text: [], editions: [], shown: '' },
  async onLoad() {
    try {
      const policy = await api.get('/policy', { auth: false })
      this.setData({ policy, editions: policy.editions, shown: policy.edition })
      await this.loadEdition(policy.edition)
    } catch (error) {
      this.fail(error)
    }
  },
  async loadEdition(edition) {
    try {
      const found = await api.get(`/policy/editions/${encodeURIComponent(edition)}`)
      this.setData({ text: paragraphs(found.text || found.body || ''), shown: edition, title: found.title || '' })
    } catch (_e) {
      this.setData({ text: [] }) // the page on the website still has it
    }
  },
  showEdition(e) {
    return this.loadEdition(e.currentTarget.dataset.edition)
  },
  copyLink() {
    wx.setClipboardData({ data: this.data.policy.url, success: () => wx.showToast({ title: i18n.t('link_copied'), icon: 'none' }) })
  },
})

module.exports.paragraphs = paragraphs
