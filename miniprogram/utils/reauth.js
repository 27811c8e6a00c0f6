// Sensitive changes (deregistration, invoice details) need a recent proof of who is signing in:
// the password when the account has one, else a fresh wx.login — done here silently, once, when
// the server answers 403 reauth_required (refreshing tokens proves nothing).
const api = require('./api')
const session = require('./session')

function login() {
  return new Promise((resolve, reject) => wx.login({ success: resolve, fail: reject }))
}

async function withFreshSignIn(action) {
  try {
    return await action()
  } catch (error) {
    if (error.code !== 'reauth_required') throw error
    const code = (await login()).code
    session.save(await api.post('/session', { code }, { auth: false }))
    return action()
  }
}

module.exports = { withFreshSignIn }
