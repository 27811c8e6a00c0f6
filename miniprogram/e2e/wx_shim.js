// A small `wx` for node that does what WeChat does for the pages, over real HTTP: wx.request,
// wx.uploadFile (multipart, progress as the body is written) and wx.downloadFile go to the live
// site; wx.login asks the WeChat simulator for a code (POST /wxa/login-code), as WeChat's own
// servers would issue one. Navigation is recorded for the test to follow.
const fs = require('fs')
const os = require('os')
const path = require('path')
const http = require('http')
const https = require('https')
const crypto = require('crypto')

function send(url, { method = 'GET', headers = {}, body = null, onWritten = null } = {}) {
  const target = new URL(url)
  const client = target.protocol === 'https:' ? https : http
  return new Promise((resolve, reject) => {
    const req = client.request(target, { method, headers }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.on('error', reject)
    req.setTimeout(60000, () => req.destroy(new Error('timeout')))
    if (body) {
      const size = body.length
      const step = Math.max(1024, Math.ceil(size / 10))
      let written = 0
      const writeMore = () => {
        while (written < size) {
          const chunk = body.subarray(written, written + step)
          written += chunk.length
          if (onWritten) onWritten(written, size)
          if (!req.write(chunk)) {
            req.once('drain', writeMore)
            return
          }
        }
        req.end()
      }
      writeMore()
    } else {
      req.end()
    }
  })
}

async function postJson(url, data) {
  const body = Buffer.from(JSON.stringify(data))
  const answer = await send(url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': body.length }, body })
  return { status: answer.status, data: JSON.parse(answer.body.toString('utf8') || 'null') }
}

function decode(res) {
  const text = res.body.toString('utf8')
  if (/json/.test(res.headers['content-type'] || '')) {
    try {
      return JSON.parse(text)
    } catch (_e) {
      return text
    }
  }
  return text
}

// The `wx` object. `identity` is what the simulator should sign in as ({user} or {unionid});
// `payUrl` is the WeChat Pay simulator that plays WeChat's payment sheet.
function createWx({ simUrl, payUrl = '', identity = {}, language = 'zh_CN', files = {} }) {
  const storage = new Map()
  const navigation = []
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xa-wx-'))
  const later = (fn) => setImmediate(fn)

  const wx = {
    navigation,
    identity,
    getStorageSync: (key) => (storage.has(key) ? JSON.parse(storage.get(key)) : ''),
    setStorageSync: (key, value) => storage.set(key, JSON.stringify(value)),
    removeStorageSync: (key) => storage.delete(key),
    getAppBaseInfo: () => ({ language }),
    getSystemInfoSync: () => ({ language }),

    request(options) {
      const headers = { ...(options.header || {}) }
      let body = null
      if (options.data !== undefined && (options.method || 'GET') !== 'GET') {
        body = Buffer.from(JSON.stringify(options.data))
        headers['Content-Length'] = body.length
      }
      send(options.url, { method: options.method || 'GET', headers, body }).then(
        (res) => options.success && options.success({ statusCode: res.status, data: decode(res), header: res.headers }),
        (err) => options.fail && options.fail({ errMsg: `request:fail ${err.message}` })
      )
      return { abort() {} }
    },

    uploadFile(options) {
      const listeners = []
      const boundary = `----wxshim${crypto.randomBytes(8).toString('hex')}`
      const name = path.basename(options.filePath)
      // formData's fields first, then the file, as WeChat's client sends them
      const fields = Object.entries(options.formData || {})
        .map(([key, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${key}"\r\n\r\n${value}\r\n`)
        .join('')
      const head = Buffer.from(
        fields +
          `--${boundary}\r\nContent-Disposition: form-data; name="${options.name}"; filename="${name}"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n'
      )
      const body = Buffer.concat([head, fs.readFileSync(options.filePath), Buffer.from(`\r\n--${boundary}--\r\n`)])
      const headers = { ...(options.header || {}), 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': body.length }
      later(() =>
        send(options.url, {
          method: 'POST',
          headers,
          body,
          onWritten: (done, size) =>
            listeners.forEach((fn) => fn({ progress: Math.round((done / size) * 100), totalBytesSent: done, totalBytesExpectedToSend: size })),
        }).then(
          (res) => options.success && options.success({ statusCode: res.status, data: res.body.toString('utf8') }),
          (err) => options.fail && options.fail({ errMsg: `uploadFile:fail ${err.message}` })
        )
      )
      return { onProgressUpdate: (fn) => listeners.push(fn), abort() {} }
    },

    downloadFile(options) {
      send(options.url, { headers: options.header || {} }).then(
        (res) => {
          const file = path.join(tmp, `download-${crypto.randomBytes(4).toString('hex')}`)
          fs.writeFileSync(file, res.body)
          options.success && options.success({ statusCode: res.status, tempFilePath: file })
        },
        (err) => options.fail && options.fail({ errMsg: `downloadFile:fail ${err.message}` })
      )
    },

    // WeChat's own: a code for the identity, from the simulator (what WeChat's servers issue).
    logins: 0,
    login(options) {
      wx.logins += 1
      postJson(`${simUrl}/wxa/login-code`, wx.identity).then(
        (res) => (res.status === 200 ? options.success({ code: res.data.code, errMsg: 'login:ok' }) : options.fail({ errMsg: 'login:fail' })),
        (err) => options.fail({ errMsg: `login:fail ${err.message}` })
      )
    },
    // WeChat's payment sheet: the payer confirms on the WeChat Pay simulator's page for the
    // prepay_id, and WeChat Pay notifies the merchant's server (the site) by itself.
    requestPayment(options) {
      const missing = ['timeStamp', 'nonceStr', 'package', 'signType', 'paySign'].filter((k) => !options[k])
      const token = String(options.package || '').replace(/^prepay_id=wx/, '')
      if (missing.length || !payUrl) {
        later(() => options.fail({ errMsg: `requestPayment:fail parameter error: ${missing.join(',')}` }))
        return
      }
      send(`${payUrl}/pay/${token}`)
        .then((page) => {
          const found = /name="confirm_token" value="([^"]+)"/.exec(page.body.toString('utf8'))
          if (page.status !== 200 || !found) throw new Error(`pay page ${page.status}`)
          const form = Buffer.from(`confirm_token=${encodeURIComponent(found[1])}`)
          return send(`${payUrl}/pay/${token}/confirm`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': form.length },
            body: form,
          })
        })
        .then(
          (done) => (done.status === 200 ? options.success({ errMsg: 'requestPayment:ok' }) : options.fail({ errMsg: `requestPayment:fail ${done.status}` })),
          (err) => options.fail({ errMsg: `requestPayment:fail ${err.message}` })
        )
    },
    getPrivacySetting: (o) => later(() => o.success({ needAuthorization: false, privacyContractName: '' })),
    requirePrivacyAuthorize: (o) => later(() => o.success({})),
    chooseMessageFile: (o) => later(() => o.success({ tempFiles: files.chat || [] })),
    showModal: (o) => later(() => o.success({ confirm: true, cancel: false })),
    shareFileMessage: (o) => later(() => o.success({})),
    openDocument: (o) => later(() => o.success({})),
    showToast() {},
    setNavigationBarTitle() {},
    stopPullDownRefresh() {},
    setClipboardData: (o) => o.success && later(() => o.success({})),
  }
  for (const kind of ['navigateTo', 'redirectTo', 'reLaunch', 'navigateBack']) {
    wx[kind] = (o) => navigation.push({ kind, url: (o && o.url) || '' })
  }
  return wx
}

// What the phone-number button gives the page for `phone`: a one-time code from the simulator.
async function phoneCode(simUrl, phone) {
  const res = await postJson(`${simUrl}/wxa/phone-code`, { phone })
  return res.data.code
}

module.exports = { createWx, phoneCode, postJson, send }
