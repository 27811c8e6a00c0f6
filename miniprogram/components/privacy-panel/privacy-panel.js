// WeChat's privacy authorization as a panel: the agree button must be the official
// open-type="agreePrivacyAuthorization" button for WeChat to record the consent.
const i18n = require('../../utils/i18n')

Component({
  properties: { name: { type: String, value: '' } },
  data: { t: {} },
  lifetimes: {
    attached() {
      this.setData({ t: i18n.strings() })
    },
  },
  methods: {
    onAgree() {
      this.triggerEvent('agree', {})
    },
    onDisagree() {
      this.triggerEvent('disagree', {})
    },
    onOpen() {
      this.triggerEvent('open', {})
    },
  },
})
