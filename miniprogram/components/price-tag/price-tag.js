// A labelled amount of money, already formatted as ¥ with two decimals (utils/format.js).
Component({
  properties: {
    label: { type: String, value: '' },
    value: { type: String, value: '' },
    strong: { type: Boolean, value: false },
  },
})
