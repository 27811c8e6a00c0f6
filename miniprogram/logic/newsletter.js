// The e-mail newsletter (Personal Center): one switch over GET/PUT /subscriptions. Subscribing
// is double opt-in — the site mails a link and the state stays "pending" until it is opened —
// and unsubscribing is immediate; an account without an e-mail address is told to add one.
const { page } = require('./base')
const api = require('../utils/api')
const i18n = require('../utils/i18n')

const STATES = ['subscribed', 'pending', 'none']

function view(state, email) {
  const known = STATES.includes(state) ? state : 'none'
  return {
    state: known,
    on: known !== 'none',
    explanation: email || known !== 'none' ? i18n.t(`newsletter_state_${known}`, { email: email || '' }) : '',
  }
}

module.exports = page({
  titleKey: 'newsletter_title',
  data: { loaded: false, email: '', state: 'none', on: false, explanation: '' },
  async onLoad() {
    if (!this.requireSignIn()) return
    await this.load()
  },
  onShow() {
    if (this.data.loaded) this.setData(view(this.data.state, this.data.email)) // the language may have changed
  },
  async load() {
    try {
      const [me, sub] = await Promise.all([api.get('/me'), api.get('/subscriptions')])
      this.setData({ loaded: true, email: me.email || '', ...view(sub.state, me.email) })
    } catch (error) {
      this.fail(error)
    }
  },
  async onSwitch(e) {
    this.clearError()
    const subscribed = !!e.detail.value
    this.setData({ busy: true })
    try {
      const answer = await api.put('/subscriptions', { subscribed })
      this.setData({ busy: false, ...view(answer.state, this.data.email) })
      const toast = answer.state === 'pending' ? 'newsletter_pending_toast' : answer.state === 'none' ? 'newsletter_unsubscribed' : 'saved'
      wx.showToast({ title: i18n.t(toast), icon: 'none' })
      return answer.state
    } catch (error) {
      this.setData({ on: this.data.state !== 'none' }) // the switch goes back to what holds
      this.fail(error)
      return undefined
    }
  },
})

module.exports.view = view
