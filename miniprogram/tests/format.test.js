const format = require('../utils/format')

test('money is yuan with two decimals and thousands separators, from decimal strings', () => {
  expect(format.money('1234.5')).toBe('¥1,234.50')
  expect(format.money('88')).toBe('¥88.00')
  expect(format.money('0.005')).toBe('¥0.01')
  expect(format.money('19.994')).toBe('¥19.99')
  expect(format.money('1000000.10')).toBe('¥1,000,000.10')
})

test('no amount is a dash, never ¥NaN', () => {
  expect(format.money(null)).toBe('—')
  expect(format.money(undefined)).toBe('—')
  expect(format.money('abc')).toBe('—')
})

test('dates are shown as the customer reads them', () => {
  const shown = format.date('2026-03-05T08:09:00Z')
  expect(shown).toMatch(/^2026-03-0[56] \d\d:\d\d$/)
  expect(format.date('2026-03-05T08:09:00Z', false)).toMatch(/^2026-03-0[56]$/)
  expect(format.date(null)).toBe('')
})
