// Data-protection requests (My data): the account's requests with their status, due date and
// answer, and a form for a new one with the kinds the website offers; a transfer names the
// processor that should receive the information. Verified by the sign-in, due in 15 working days.
const { page } = require('./base')
const api = require('../utils/api')
const i18n = require('../utils/i18n')
const format = require('../utils/format')

const KINDS = ['copy', 'transfer', 'correction', 'deletion', 'withdrawal', 'question', 'complaint', 'other']
const EMPTY = { details: '', processor: '' }

function kindNames() {
  return KINDS.map((kind) => i18n.t(`request_kind_${kind}`))
}

function requestView(r) {
  return {
    id: r.id,
    kindName: r.kind_name,
    statusName: r.status_name,
    filed: format.date(r.created_at, false),
    due: r.due_on || '',
    overdue: !!r.overdue,
    processor: r.processor || '',
    details: r.details || '',
    answer: r.answer || '',
    answered: format.date(r.answered_at, false),
    declineReason: r.decline_reason || '',
  }
}

module.exports = page({
  titleKey: 'requests_title',
  data: { requests: [], loaded: false, kinds: [], kindIndex: -1, transfer: false, form: EMPTY },
  async onLoad() {
    this.setData({ kinds: kindNames() })
    if (!this.requireSignIn()) return
    await this.load()
  },
  onShow() {
    this.setData({ kinds: kindNames() }) // in the language chosen meanwhile, if it changed
  },
  async load() {
    try {
      this.setData({ requests: (await api.get('/privacy-requests')).map(requestView), loaded: true })
    } catch (error) {
      this.fail(error)
    }
  },
  onKind(e) {
    const kindIndex = Number(e.detail.value)
    this.setData({ kindIndex, transfer: KINDS[kindIndex] === 'transfer', 'fields.kind': '' })
  },
  onInput(e) {
    this.setData({ [`form.${e.currentTarget.dataset.field}`]: e.detail.value })
  },
  async submit() {
    this.clearError()
    const kind = KINDS[this.data.kindIndex] || ''
    const body = { kind, details: this.data.form.details || null }
    if (kind === 'transfer') body.processor = this.data.form.processor || null
    this.setData({ busy: true })
    try {
      const filed = await api.post('/privacy-requests', body)
      this.setData({ busy: false, form: EMPTY, kindIndex: -1, transfer: false, requests: [requestView(filed), ...this.data.requests] })
      wx.showToast({ title: i18n.t('request_filed'), icon: 'success' })
      return filed
    } catch (error) {
      this.fail(error)
      return undefined
    }
  },
})

module.exports.KINDS = KINDS
module.exports.requestView = requestView
