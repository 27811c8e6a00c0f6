// The site's JSON API (/api/mp/v1): bearer tokens, one refresh at a time when the access token
// expires (the refresh token is spent by each use, so two refreshes at once would end the
// sign-in), and errors carrying the server's own message in the customer's language.
const config = require('../config')
const session = require('./session')
const i18n = require('./i18n')

class ApiError extends Error {
  constructor(status, code, message, fields, extra) {
    super(message)
    this.status = status
    this.code = code
    this.fields = fields || {}
    this.extra = extra || {}
  }
}

function url(path) {
  return config.baseUrl.replace(/\/$/, '') + path
}

function headers(auth) {
  const found = { 'Accept-Language': i18n.acceptLanguage() }
  const held = session.tokens()
  if (auth && held && held.access_token) found.Authorization = `Bearer ${held.access_token}`
  return found
}

function failure(status, body) {
  const error = body && body.error
  if (error && error.message) {
    const { error: _ignored, ...extra } = body
    return new ApiError(status, error.code, error.message, error.fields, extra)
  }
  return new ApiError(status, 'server_error', i18n.t('error_server'))
}

function offline(errMsg) {
  return new ApiError(0, 'network', i18n.t('error_network'), null, { errMsg })
}

function parse(data) {
  if (typeof data !== 'string') return data
  try {
    return JSON.parse(data)
  } catch (_e) {
    return null
  }
}

function send(method, path, data, auth) {
  return new Promise((resolve, reject) => {
    wx.request({
      url: url(path),
      method,
      data: data === undefined ? undefined : data,
      header: { ...headers(auth), 'Content-Type': 'application/json' },
      success: (res) => resolve({ status: res.statusCode, body: parse(res.data) }),
      fail: (err) => reject(offline(err && err.errMsg)),
    })
  })
}

let refreshing = null

// One refresh for every request that found its token expired at the same moment.
function refresh() {
  if (!refreshing) {
    const held = session.tokens()
    refreshing = (async () => {
      if (!held || !held.refresh_token) throw new ApiError(401, 'unauthorized', i18n.t('error_signin'))
      const answer = await send('POST', '/session/refresh', { refresh_token: held.refresh_token }, false)
      if (answer.status !== 200) {
        session.clear()
        throw failure(answer.status, answer.body)
      }
      session.save(answer.body)
    })()
    refreshing.then(
      () => (refreshing = null),
      () => (refreshing = null)
    )
  }
  return refreshing
}

function expired(answer) {
  return answer.status === 401 && answer.body && answer.body.error && answer.body.error.code === 'token_expired'
}

// Retry once with fresh tokens when the server says the access token expired.
async function withRefresh(call, auth, isExpired = expired) {
  let answer = await call()
  if (auth && isExpired(answer)) {
    await refresh()
    answer = await call()
  }
  if (answer.status === 401 && auth) session.clear()
  return answer
}

async function request(method, path, data, options = {}) {
  const auth = options.auth !== false
  const answer = await withRefresh(() => send(method, path, data, auth), auth)
  if (answer.status >= 200 && answer.status < 300) return answer.body
  throw failure(answer.status, answer.body)
}

// One drawing to POST /quotes as the website's form sends it (field name "files"); formData
// carries the name the person chose, since WeChat sends the file under a temporary one.
function upload(path, filePath, onProgress, formData) {
  const once = () =>
    new Promise((resolve, reject) => {
      const task = wx.uploadFile({
        url: url(path),
        filePath,
        name: 'files',
        formData: formData || {},
        header: headers(true),
        success: (res) => resolve({ status: res.statusCode, body: parse(res.data) }),
        fail: (err) => reject(offline(err && err.errMsg)),
      })
      if (task && onProgress) task.onProgressUpdate((p) => onProgress(p.progress))
    })
  return withRefresh(once, true).then((answer) => {
    if (answer.status >= 200 && answer.status < 300) return answer.body
    throw failure(answer.status, answer.body)
  })
}

// A file the API serves (a data export, a fapiao) into a temporary path on the device.
function download(path) {
  const once = () =>
    new Promise((resolve, reject) => {
      wx.downloadFile({
        url: url(path),
        header: headers(true),
        success: (res) => resolve({ status: res.statusCode, body: res.tempFilePath, path: res.tempFilePath }),
        fail: (err) => reject(offline(err && err.errMsg)),
      })
    })
  // a download's error body lands in a file: any 401 is worth one refresh
  return withRefresh(once, true, (answer) => answer.status === 401).then((answer) => {
    if (answer.status === 200) return answer.path
    throw new ApiError(answer.status, 'download', i18n.t(answer.status === 409 ? 'export_not_ready' : 'error_server'))
  })
}

module.exports = {
  ApiError,
  request,
  get: (path, options) => request('GET', path, undefined, options),
  post: (path, data, options) => request('POST', path, data || {}, options),
  put: (path, data) => request('PUT', path, data || {}),
  patch: (path, data) => request('PATCH', path, data || {}),
  del: (path) => request('DELETE', path),
  upload,
  download,
  url,
}
