// Request a quote: one drawing from a WeChat chat (wx.chooseMessageFile) or from the phone
// (wx.chooseMedia), sent with wx.uploadFile (field "files") while the progress bar moves.
const { page, call } = require('./base')
const api = require('../utils/api')
const i18n = require('../utils/i18n')
const format = require('../utils/format')
const formats = require('../utils/formats')

function cancelled(error) {
  return /cancel/i.test((error && error.errMsg) || '')
}

module.exports = page({
  titleKey: 'upload_title',
  data: { file: null, progress: 0, uploading: false, formats: formats.FORMATS.map((f) => f.toUpperCase()).join(' · ') },
  onLoad() {
    this.requireSignIn()
  },
  showPrivacy(resolve) {
    this.privacyResolve = resolve
    this.setData({ needPrivacy: true })
  },
  onAgreePrivacy() {
    this.setData({ needPrivacy: false })
    if (this.privacyResolve) this.privacyResolve({ buttonId: 'agree-privacy', event: 'agree' })
    this.privacyResolve = null
  },
  onDisagreePrivacy() {
    if (this.privacyResolve) this.privacyResolve({ event: 'disagree' })
    this.privacyResolve = null
    this.setData({ needPrivacy: false, error: i18n.t('privacy_needed') })
  },
  pick(name, path, size) {
    if (!formats.accepted(name)) {
      this.setData({ file: null, error: i18n.t('upload_wrong_format', { formats: this.data.formats }) })
      return
    }
    this.setData({ file: { name, path, size, sizeText: format.bytes(size) }, error: '', progress: 0 })
  },
  async chooseFromChat() {
    this.clearError()
    try {
      const res = await call('chooseMessageFile', { count: 1, type: 'file', extension: formats.FORMATS })
      const chosen = res.tempFiles[0]
      this.pick(chosen.name, chosen.path, chosen.size)
    } catch (error) {
      if (!cancelled(error)) this.setData({ error: i18n.t('choose_failed') })
    }
  },
  async chooseFromPhone() {
    this.clearError()
    try {
      const res = await call('chooseMedia', { count: 1, mediaType: ['image'], sourceType: ['album', 'camera'] })
      const chosen = res.tempFiles[0]
      const name = chosen.tempFilePath.split('/').pop()
      this.pick(name, chosen.tempFilePath, chosen.size)
    } catch (error) {
      if (!cancelled(error)) this.setData({ error: i18n.t('choose_failed') })
    }
  },
  async submit() {
    if (!this.data.file) {
      this.setData({ error: i18n.t('upload_choose_first') })
      return undefined
    }
    this.clearError()
    this.setData({ uploading: true, progress: 0 })
    try {
      const { path, name } = this.data.file
      const quote = await api.upload('/quotes', path, (progress) => this.setData({ progress }), { filename: name })
      this.setData({ uploading: false, progress: 100 })
      wx.redirectTo({ url: `/pages/quote/quote?ref=${encodeURIComponent(quote.ref)}` })
      return quote
    } catch (error) {
      this.setData({ uploading: false })
      this.fail(error)
      return undefined
    }
  },
})
