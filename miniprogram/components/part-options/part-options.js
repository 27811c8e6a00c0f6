// A part's options as pickers of names from the catalogue (process, material for that process,
// finish, tolerance, threads, inspection) and the quantity; each change is sent to the page,
// which asks the server for the live price.
const catalogues = require('../../utils/catalogue')

Component({
  properties: {
    catalogue: { type: Object, value: null },
    options: { type: Object, value: null },
    t: { type: Object, value: {} },
  },
  data: { pickers: [], quantity: 1 },
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
      this.setData({ pickers: catalogues.pickers(catalogue, options), quantity: options.quantity })
    },
    onPick(e) {
      const field = e.currentTarget.dataset.field
      const picker = this.data.pickers.find((p) => p.field === field)
      const chosen = picker.choices[Number(e.detail.value)]
      const options = { ...this.properties.options, [field]: chosen.code }
      if (field === 'process') {
        // a material, finish… of the old process may not exist for the new one
        catalogues.FIELDS.slice(1).forEach((other) => {
          const choices = catalogues.listOf(this.properties.catalogue, other, chosen.code)
          if (choices.length && !choices.some((c) => c.code === String(options[other]))) options[other] = choices[0].code
        })
      }
      this.setData({ pickers: catalogues.pickers(this.properties.catalogue, options) })
      this.triggerEvent('change', { options })
    },
    onQuantity(e) {
      const quantity = parseInt(e.detail.value, 10)
      if (!quantity || quantity < 1) return
      this.setData({ quantity })
      this.triggerEvent('change', { options: { ...this.properties.options, quantity } })
    },
  },
})
