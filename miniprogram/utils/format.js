// Money and dates as customers read them: ¥ with two decimals from the API's decimal strings.

function money(value) {
  if (value === null || value === undefined || value === '') return '—'
  const text = String(value).trim()
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text)
  if (!match) return '—'
  const sign = match[1]
  const digits = (match[3] || '').padEnd(3, '0')
  // round half up on the third decimal, in integer cents (no float error)
  let cents = Number(match[2]) * 100 + Number(digits.slice(0, 2))
  if (Number(digits[2]) >= 5) cents += 1
  const whole = String(Math.floor(cents / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  const rest = String(cents % 100).padStart(2, '0')
  return `${sign && cents > 0 ? '-' : ''}¥${whole}.${rest}`
}

function pad(n) {
  return String(n).padStart(2, '0')
}

function date(iso, withTime = true) {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
  return withTime ? `${day} ${pad(d.getHours())}:${pad(d.getMinutes())}` : day
}

function bytes(size) {
  if (!size && size !== 0) return ''
  if (size < 1024) return `${size} B`
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KB`
  return `${(size / 1024 / 1024).toFixed(1)} MB`
}

module.exports = { money, date, bytes }
