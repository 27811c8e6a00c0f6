// One quote: each part's options and price, options changed with a live price (GET …/price)
// then saved (PUT …/parts/<id>), and the quote accepted into an order (POST …/accept).
const { page } = require('./base')
const api = require('../utils/api')
const i18n = require('../utils/i18n')
const format = require('../utils/format')
const catalogues = require('../utils/catalogue')

function priceView(price) {
  if (!price) return null
  return {
    instant: price.instant,
    unitPrice: format.money(price.unit_price),
    total: format.money(price.total),
    standardDays: price.lead_days ? price.lead_days.standard : null,
    expeditedDays: price.lead_days ? price.lead_days.expedited : null,
    breaks: (price.breaks || []).map((b) => ({ quantity: b.quantity, unitPrice: format.money(b.unit_price) })),
    findings: (price.dfm || []).map((f) => ({ message: f.message, severity: f.severity })),
    reviewMessage: price.review_message || (price.review && price.review.message) || '',
    // the live price also tells what the quote's total would be with these options saved
    // (only when every part has a price: else the total would leave some out)
    quoteTotal: price.quote && price.quote.complete ? format.money(price.quote.total) : '',
  }
}

function quoteView(quote, catalogue) {
  return {
    ref: quote.ref,
    statusName: quote.status_name,
    processName: quote.process_name,
    created: format.date(quote.created_at),
    validUntil: format.date(quote.valid_until, false),
    total: format.money(quote.total),
    subtotal: format.money(quote.subtotal),
    vat: format.money(quote.vat),
    canAccept: !!quote.total && quote.status === 'quoted',
    parts: quote.parts.map((part) => ({
      id: part.id,
      filename: part.filename,
      analysed: part.analysis_status === 'analysed',
      quantity: part.options.quantity,
      options: part.options,
      optionNames: catalogues
        .pickers(catalogue, part.options)
        .filter((p) => p.name)
        .map((p) => p.name)
        .join(' · '),
      price: priceView(part.price),
    })),
  }
}

function priceQuery(options) {
  return Object.keys(options)
    .filter((key) => options[key] !== null && options[key] !== undefined && options[key] !== '')
    .map((key) => `${key}=${encodeURIComponent(options[key])}`)
    .join('&')
}

module.exports = page({
  titleKey: 'quote_title',
  data: {
    quote: null,
    catalogue: null,
    editing: null, // part id
    draft: null,
    live: null,
    accepting: false,
    leadTimes: [],
    leadIndex: 0,
    addresses: [],
    addressIndex: 0,
  },
  async onLoad(query) {
    this.ref = query.ref
    if (!this.requireSignIn()) return
    await Promise.all([this.loadCatalogue(), this.load()])
    // whichever came last: the option names need both
    if (this.raw) this.setData({ quote: quoteView(this.raw, this.data.catalogue) })
  },
  async loadCatalogue() {
    try {
      const catalogue = await api.get('/catalogue')
      this.setData({ catalogue, leadTimes: catalogues.listOf(catalogue, 'lead_time') })
    } catch (_e) {
      this.setData({ catalogue: null }) // no pickers: the quote still shows
    }
  },
  async load() {
    try {
      this.raw = await api.get(`/quotes/${encodeURIComponent(this.ref)}`)
      this.setData({ quote: quoteView(this.raw, this.data.catalogue) })
    } catch (error) {
      this.fail(error)
    }
  },
  edit(e) {
    const id = Number(e.currentTarget.dataset.id)
    const part = this.raw.parts.find((p) => p.id === id)
    this.setData({ editing: id, draft: { ...part.options }, live: priceView(part.price) })
  },
  cancelEdit() {
    this.setData({ editing: null, draft: null, live: null })
  },
  // The part-options component changed a choice: ask the live price for the new options.
  async onOptionsChange(e) {
    const draft = { ...this.data.draft, ...e.detail.options }
    this.setData({ draft })
    try {
      const price = await api.get(
        `/quotes/${encodeURIComponent(this.ref)}/parts/${this.data.editing}/price?${priceQuery(draft)}`
      )
      this.setData({ live: priceView(price), error: '', fields: {} })
    } catch (error) {
      this.fail(error)
    }
  },
  async savePart() {
    this.setData({ busy: true })
    try {
      this.raw = await api.put(`/quotes/${encodeURIComponent(this.ref)}/parts/${this.data.editing}`, this.data.draft)
      this.setData({ quote: quoteView(this.raw, this.data.catalogue), editing: null, draft: null, live: null, busy: false })
      wx.showToast({ title: i18n.t('saved'), icon: 'success' })
    } catch (error) {
      this.fail(error)
    }
  },
  async startAccept() {
    try {
      const addresses = (await api.get('/addresses')).map((a) => ({
        id: a.id,
        label: `${a.recipient} · ${a.region} ${a.address}`,
      }))
      if (!addresses.length) {
        this.setData({ error: i18n.t('accept_needs_address') })
        return
      }
      this.setData({ accepting: true, addresses, addressIndex: 0, leadIndex: 0 })
    } catch (error) {
      this.fail(error)
    }
  },
  onLeadChange(e) {
    this.setData({ leadIndex: Number(e.detail.value) })
  },
  onAddressChange(e) {
    this.setData({ addressIndex: Number(e.detail.value) })
  },
  addAddress() {
    wx.navigateTo({ url: '/pages/address/address' })
  },
  async confirmAccept() {
    const lead = this.data.leadTimes[this.data.leadIndex]
    const address = this.data.addresses[this.data.addressIndex]
    this.setData({ busy: true })
    try {
      const order = await api.post(`/quotes/${encodeURIComponent(this.ref)}/accept`, {
        lead_time: lead ? lead.code : undefined,
        address_id: address.id,
      })
      this.setData({ busy: false, accepting: false })
      wx.redirectTo({ url: `/pages/order/order?number=${encodeURIComponent(order.number)}` })
      return order
    } catch (error) {
      this.fail(error)
      return undefined
    }
  },
})

module.exports.quoteView = quoteView
module.exports.priceView = priceView
