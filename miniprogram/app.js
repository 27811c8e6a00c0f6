// The Mini Program: the language chosen once at launch, and WeChat's privacy authorization
// routed to the page that asked for a privacy API (it shows its own privacy panel).
const i18n = require('./utils/i18n')

App({
  onLaunch() {
    i18n.init()
    if (typeof wx.onNeedPrivacyAuthorization === 'function') {
      wx.onNeedPrivacyAuthorization((resolve) => {
        const pages = getCurrentPages()
        const current = pages[pages.length - 1]
        if (current && typeof current.showPrivacy === 'function') current.showPrivacy(resolve)
        else wx.navigateTo({ url: '/pages/signin/signin' })
      })
    }
  },
})
