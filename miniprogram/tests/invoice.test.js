const { renderPage, textOf, installWx, fakeApi, signInAs, simulate } = require('./harness')

const saved = {
  kind: 'corporate', fapiao_type: 'special', fapiao_type_name: '电子增值税专用发票', name: '上海某某机械有限公司',
  tax_number: '9131************K1X', bank_name: '中国银行上海虹口支行', bank_account: '6222************445', invoice_email: 'fapiao@example.com',
}

test('saved invoice details are shown masked, by their names', async () => {
  installWx(fakeApi({ 'GET /invoice': { status: 200, body: saved } }))
  signInAs()
  const page = renderPage('invoice')
  await page.instance.onLoad({})
  await simulate.sleep(0)
  const shown = textOf(page)
  expect(shown).toContain('电子增值税专用发票')
  expect(shown).toContain('9131************K1X')
  expect(shown).not.toContain('special')
})

test('a special fapiao asks for the registered details; the form goes to PUT /invoice', async () => {
  const api = fakeApi({
    'GET /invoice': { status: 404, body: { error: { code: 'not_found', message: '未找到。' } } },
    'PUT /invoice': ({ data }) => data.bank_account
      ? { status: 200, body: { ...saved, invoice_email: data.invoice_email } }
      : { status: 422, body: { error: { code: 'invalid', message: '部分内容缺失或无效。', fields: { bank_account: '请填写银行账号。' } } } },
  })
  installWx(api)
  signInAs()
  const page = renderPage('invoice')
  await page.instance.onLoad({})
  await simulate.sleep(0)
  expect(textOf(page)).toContain('您还没有保存发票信息')
  page.instance.edit()
  page.instance.onType({ detail: { value: '1' } })
  await simulate.sleep(0)
  expect(textOf(page)).toContain('注册地址')
  const type = (field, value) => page.instance.onInput({ currentTarget: { dataset: { field } }, detail: { value } })
  type('company_name', '上海某某机械有限公司')
  type('tax_number', '91310000MA1FL3LK1X')
  page.instance.onRegion({ detail: { value: ['上海市', '上海市', '虹口区'], code: ['310000', '310100', '310109'] } })
  await page.instance.save()
  await simulate.sleep(0)
  expect(textOf(page)).toContain('请填写银行账号。')
  type('bank_account', '6222020200112233445')
  await page.instance.save()
  const sent = api.calls.filter((c) => c.method === 'PUT').pop().data
  expect(sent).toMatchObject({ kind: 'corporate', fapiao_type: 'special', company_name: '上海某某机械有限公司', province: '310000', city: '310100', district: '310109', consent_sensitive: false })
  await simulate.sleep(0)
  expect(page.data.editing).toBe(false)
  expect(textOf(page)).toContain('电子增值税专用发票')
})

test('a personal invoice may carry a tax number; the ID-number consent is asked for it only', async () => {
  const api = fakeApi({
    'GET /invoice': { status: 404, body: { error: { code: 'not_found', message: '未找到。' } } },
    'PUT /invoice': ({ data }) => ({ status: 200, body: { kind: data.kind, fapiao_type: 'normal', fapiao_type_name: '电子增值税普通发票', name: data.name, tax_number: '1101**********002X' } }),
  })
  installWx(api)
  signInAs()
  const page = renderPage('invoice')
  await page.instance.onLoad({})
  page.instance.edit()
  await simulate.sleep(0)
  expect(textOf(page)).not.toContain('单独同意') // a company's tax number is no ID number
  page.instance.onConsent({ detail: { value: ['yes'] } })
  page.instance.onKind({ detail: { value: '1' } })
  await simulate.sleep(0)
  expect(textOf(page)).toContain('纳税人识别号')
  expect(textOf(page)).toContain('单独同意')
  page.instance.onInput({ currentTarget: { dataset: { field: 'name' } }, detail: { value: '张伟' } })
  page.instance.onInput({ currentTarget: { dataset: { field: 'tax_number' } }, detail: { value: '11010519491231002X' } })
  await page.instance.save()
  expect(api.calls.find((c) => c.method === 'PUT').data).toMatchObject({ kind: 'personal', name: '张伟', tax_number: '11010519491231002X', consent_sensitive: true })
})
