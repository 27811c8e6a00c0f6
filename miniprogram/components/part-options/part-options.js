// A part's options as pickers of names from the catalogue (process, material and finish for that
// process, tolerance, inspection), the tapped holes and the quantity; each change is sent to the
// page, which asks the server for the live price.
const catalogues = require('../../utils/catalogue')

Component({
  properties: {
    catalogue: { type: Object, value: null },
    options: { type: Object, value: null },
    t: { type: Object, value: {} },
  },
  data: { pickers: [], quantity: 1, threads: 0, threadsName: '' },
  observers: {
    'catalogue, options': function () {
      this.refresh()
    },
  },
  lifetimes: {
    attached() {
      this.refresh()
    },
  },
  methods: {
    refresh() {
      const { catalogue, options } = this.properties
      if (!catalogue || !options) return
      this.setData({
        pickers: catalogues.pickers(catalogue, options),
        quantity: options.quantity,
        threads: options.threads || 0,
        threadsName: catalogues.threads(catalogue).name,
      })
    },
    send(options) {
      this.setData({ pickers: catalogues.pickers(this.properties.catalogue, options) })
      this.triggerEvent('change', { options })
    },
    onPick(e) {
      const field = e.currentTarget.dataset.field
      const picker = this.data.pickers.find((p) => p.field === field)
      const chosen = picker.choices[Number(e.detail.value)]
      // a material or finish the new choice does not offer becomes one it does
      this.send(catalogues.settle(this.properties.catalogue, { ...this.properties.options, [field]: chosen.code }))
    },
    onQuantity(e) {
      const quantity = parseInt(e.detail.value, 10)
      if (!quantity || quantity < 1) return
      this.setData({ quantity })
      this.send({ ...this.properties.options, quantity })
    },
    onThreads(e) {
      const range = catalogues.threads(this.properties.catalogue)
      const threads = parseInt(e.detail.value, 10)
      if (Number.isNaN(threads) || threads < range.min || threads > range.max) return
      this.setData({ threads })
      this.send({ ...this.properties.options, threads })
    },
  },
})
