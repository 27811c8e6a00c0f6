// Sign-in and first registration: WeChat's privacy authorization, wx.login, then the phone-number
// button with the policy and adult consents (POST /register), or linking to the account that
// already holds that phone (POST /link).
const { page, call } = require('./base')
const api = require('../utils/api')
const i18n = require('../utils/i18n')
const session = require('../utils/session')

module.exports = page({
  titleKey: 'signin_title',
  isSignIn: true,
  data: {
    step: 'start', // start → register → (link) → done
    needPrivacy: false,
    privacyName: '',
    acceptPolicy: false,
    confirmAdult: false,
    linkMethods: [],
    password: '',
    policyTitle: '',
  },
  onLoad() {
    this.privacyResolvers = []
    this.checkPrivacy()
    return api.get('/policy', { auth: false }).then(
      (policy) => this.setData({ policyTitle: policy.title }),
      () => undefined
    )
  },
  // Whether WeChat still needs the user to agree to the Mini Program's privacy guidelines.
  checkPrivacy() {
    if (typeof wx.getPrivacySetting !== 'function') return
    wx.getPrivacySetting({
      success: (res) => this.setData({ needPrivacy: !!res.needAuthorization, privacyName: res.privacyContractName || '' }),
    })
  },
  // Called by app.js (wx.onNeedPrivacyAuthorization) when a privacy API waits for consent.
  showPrivacy(resolve) {
    this.privacyResolvers = (this.privacyResolvers || []).concat([resolve])
    this.setData({ needPrivacy: true })
  },
  onAgreePrivacy() {
    this.setData({ needPrivacy: false })
    ;(this.privacyResolvers || []).forEach((resolve) => resolve({ buttonId: 'agree-privacy', event: 'agree' }))
    this.privacyResolvers = []
  },
  onDisagreePrivacy() {
    ;(this.privacyResolvers || []).forEach((resolve) => resolve({ event: 'disagree' }))
    this.privacyResolvers = []
    this.setData({ error: i18n.t('privacy_needed') })
  },
  openPrivacyContract() {
    if (typeof wx.openPrivacyContract === 'function') wx.openPrivacyContract({})
  },
  // Privacy first (wx.requirePrivacyAuthorize), then wx.login's code for the site's tokens.
  async signIn() {
    this.clearError()
    this.setData({ busy: true })
    try {
      if (typeof wx.requirePrivacyAuthorize === 'function') await call('requirePrivacyAuthorize')
    } catch (_e) {
      this.setData({ busy: false, error: i18n.t('privacy_needed') })
      return
    }
    try {
      const login = await call('login')
      const tokens = await api.post('/session', { code: login.code }, { auth: false })
      session.save(tokens)
      if (tokens.registered) {
        await this.finish()
      } else {
        this.setData({ step: 'register', busy: false })
      }
    } catch (error) {
      this.fail(error)
    }
  },
  onConsentChange(e) {
    const chosen = e.detail.value || []
    this.setData({ acceptPolicy: chosen.includes('policy'), confirmAdult: chosen.includes('adult') })
  },
  // The phone-number button's answer: a one-time code the server exchanges for the number.
  async onGetPhoneNumber(e) {
    this.clearError()
    const code = e.detail && e.detail.code
    if (!code) {
      this.setData({ error: i18n.t('phone_refused') })
      return
    }
    if (!this.data.acceptPolicy || !this.data.confirmAdult) {
      this.setData({ error: i18n.t('consent_missing') })
      return
    }
    this.setData({ busy: true })
    try {
      const tokens = await api.post('/register', {
        phone_code: code,
        accept_policy: this.data.acceptPolicy,
        confirm_adult: this.data.confirmAdult,
      })
      session.save(tokens)
      await this.finish()
    } catch (error) {
      if (error.code === 'link_required') {
        const offer = error.extra.link || {}
        this.setData({ step: 'link', linkMethods: offer.methods || [], busy: false, error: error.message })
        return
      }
      this.fail(error)
    }
  },
  onPasswordInput(e) {
    this.setData({ password: e.detail.value })
  },
  async link() {
    this.clearError()
    this.setData({ busy: true })
    const body = { confirm: true }
    if (this.data.password) body.password = this.data.password
    try {
      session.save(await api.post('/link', body))
      await this.finish()
    } catch (error) {
      this.fail(error)
    }
  },
  declineLink() {
    session.clear()
    this.setData({ step: 'start', error: i18n.t('link_declined') })
  },
  // Signed in: the account's language preference wins, then home.
  async finish() {
    try {
      const me = await api.get('/me')
      if (me.preferred_language) i18n.setLang(me.preferred_language)
    } catch (_e) {
      // the sign-in stands even if the account could not be read just now
    }
    this.setData({ step: 'done', busy: false })
    wx.reLaunch({ url: '/pages/index/index' })
  },
  openPolicy() {
    wx.navigateTo({ url: '/pages/policy/policy' })
  },
})
