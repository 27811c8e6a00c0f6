// The device's sign-in: the bearer tokens, kept in the Mini Program's storage (never a cookie).
const KEY = 'xa_tokens'

function tokens() {
  return wx.getStorageSync(KEY) || null
}

function save(answer) {
  const kept = {
    access_token: answer.access_token,
    refresh_token: answer.refresh_token,
    registered: !!answer.registered,
  }
  wx.setStorageSync(KEY, kept)
  return kept
}

function clear() {
  wx.removeStorageSync(KEY)
}

function signedIn() {
  const held = tokens()
  return !!(held && held.access_token && held.registered)
}

module.exports = { tokens, save, clear, signedIn }
