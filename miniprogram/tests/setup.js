// miniprogram-simulate installs its `wx` (and Component) when loaded; tests add their stubs.
// Its built-in <button> renders only its slot: registered again here with the properties the
// tests read (open-type decides what WeChat does on a tap: phone number, privacy consent).
require('miniprogram-simulate')
const jComponent = require('j-component')

jComponent.register({
  id: 'button',
  tagName: 'wx-button',
  template: '<slot/>',
  properties: {
    openType: { type: String, value: '' },
    disabled: { type: Boolean, value: false },
    loading: { type: Boolean, value: false },
  },
})
