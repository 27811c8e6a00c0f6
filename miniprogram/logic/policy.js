// The Data Protection Policy: the edition in force and its text (headings, paragraphs, lists),
// earlier editions, and the page on the website (the link is copied: the website is outside the
// Mini Program).
const { page } = require('./base')
const api = require('../utils/api')
const i18n = require('../utils/i18n')

// An edition's blocks ({type: p|subsection|ol}) as lines for one wx:for: headings, paragraphs,
// list items with their labels.
function lines(doc) {
  const out = []
  const walkItems = (items, depth) =>
    (items || []).forEach((item) => {
      if (typeof item === 'string') {
        out.push({ kind: 'li', depth, text: item })
        return
      }
      out.push({ kind: 'li', depth, text: [item.label, item.text].filter(Boolean).join(' ') })
      walkItems(item.items, depth + 1)
    })
  const walk = (blocks) =>
    (blocks || []).forEach((block) => {
      if (block.type === 'subsection') {
        out.push({ kind: 'h3', text: [block.number, block.title].filter(Boolean).join(' ') })
        walk(block.blocks)
      } else if (block.type === 'ol' || block.type === 'ul') {
        walkItems(block.items, 0)
      } else if (block.text) {
        out.push({ kind: 'p', text: block.text })
      }
    })
  walk(doc.intro)
  ;(doc.sections || []).forEach((section) => {
    out.push({ kind: 'h2', text: [section.number, section.title].filter(Boolean).join(' ') })
    walk(section.blocks)
  })
  return out.map((line, i) => ({ ...line, key: i }))
}

module.exports = page({
  titleKey: 'policy_title',
  data: { policy: null, title: '', lines: [], editions: [], shown: '', url: '' },
  async onLoad() {
    try {
      const policy = await api.get('/policy', { auth: false })
      this.setData({ policy, shown: policy.edition, url: policy.url, title: policy.title })
    } catch (error) {
      this.fail(error)
      return
    }
    await Promise.all([this.loadEditions(), this.loadEdition(this.data.shown)])
  },
  async loadEditions() {
    try {
      const editions = await api.get('/policy/editions', { auth: false })
      this.setData({ editions: editions.map((e) => ({ id: e.edition, date: e.effective_date, current: e.is_current })) })
    } catch (_e) {
      this.setData({ editions: [] })
    }
  },
  async loadEdition(edition) {
    try {
      const doc = await api.get(`/policy/editions/${encodeURIComponent(edition)}`, { auth: false })
      this.setData({ lines: lines(doc), shown: edition, title: doc.title, url: doc.url, effective: doc.effective_date })
    } catch (_e) {
      this.setData({ lines: [] }) // the page on the website still has it
    }
  },
  showEdition(e) {
    return this.loadEdition(e.currentTarget.dataset.edition)
  },
  copyLink() {
    wx.setClipboardData({ data: this.data.url, success: () => wx.showToast({ title: i18n.t('link_copied'), icon: 'none' }) })
  },
})

module.exports.lines = lines
