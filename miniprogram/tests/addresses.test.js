const { renderPage, textOf, installWx, fakeApi, signInAs, simulate } = require('./harness')

const address = { id: 4, organization: null, recipient: '张伟', address: '张江路 88 号', phone: '+86 139****5678', province: '310000', city: '310100', district: '310115', region: '上海市 市辖区 浦东新区', postal_code: '201203', is_default: true, needs_district: false }

test('the address list shows the default, and a deletion is confirmed first', async () => {
  let listed = [address]
  const api = fakeApi({
    'GET /addresses': () => ({ status: 200, body: listed }),
    'DELETE /addresses/4': () => { listed = []; return { status: 204, body: '' } },
  })
  const answers = [{ confirm: false }, { confirm: true }]
  const wx = installWx(api, { showModal: jest.fn((o) => o.success(answers.shift())) })
  signInAs()
  const page = renderPage('addresses')
  await page.instance.onLoad({})
  await page.instance.onShow()
  await simulate.sleep(0)
  expect(textOf(page)).toContain('上海市 市辖区 浦东新区 张江路 88 号')
  expect(textOf(page)).toContain('默认')
  await page.instance.remove({ currentTarget: { dataset: { id: 4 } } })
  expect(api.calls.some((c) => c.method === 'DELETE')).toBe(false) // "cancel": nothing deleted
  await page.instance.remove({ currentTarget: { dataset: { id: 4 } } })
  expect(api.calls.filter((c) => c.method === 'DELETE')).toHaveLength(1)
  await simulate.sleep(0)
  expect(textOf(page)).toContain('您还没有收货地址')
  expect(wx.showModal.mock.calls[0][0].content).toBe('确定删除此收货地址吗？')
})

test('an address is corrected with PUT; the phone is typed again, the masked one only a hint', async () => {
  const api = fakeApi({
    'GET /addresses': { status: 200, body: [address] },
    'PUT /addresses/4': ({ data }) => ({ status: 200, body: { ...address, ...data } }),
  })
  installWx(api)
  signInAs()
  const page = renderPage('address')
  await page.instance.onLoad({ id: '4' })
  await simulate.sleep(0)
  expect(page.data.form.phone).toBe('')
  expect(page.data.maskedPhone).toBe('+86 139****5678')
  expect(textOf(page)).toContain('保存时请重新输入电话')
  expect(textOf(page)).toContain('上海市 市辖区 浦东新区')
  page.instance.onInput({ currentTarget: { dataset: { field: 'phone' } }, detail: { value: '13912345678' } })
  page.instance.onInput({ currentTarget: { dataset: { field: 'address' } }, detail: { value: '张江路 99 号' } })
  await page.instance.save()
  expect(api.calls.find((c) => c.method === 'PUT').data).toMatchObject({ address: '张江路 99 号', phone: '13912345678', province: '310000', district: '310115', organization: null })
})
