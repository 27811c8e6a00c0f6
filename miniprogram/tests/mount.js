// A page definition as WeChat instantiates it: its own copy of data, setData (with WeChat's
// path keys: "form.name", "list[2].title") and the methods — for tests in node without a DOM.

function assignPath(target, key, value) {
  const parts = key.replace(/\[(\d+)\]/g, '.$1').split('.')
  let node = target
  for (let i = 0; i < parts.length - 1; i += 1) {
    if (node[parts[i]] === undefined || node[parts[i]] === null) node[parts[i]] = {}
    node = node[parts[i]]
  }
  node[parts[parts.length - 1]] = value
}

function mount(def) {
  const instance = Object.create(def)
  instance.data = JSON.parse(JSON.stringify(def.data))
  instance.setData = function setData(patch, callback) {
    Object.keys(patch).forEach((key) => assignPath(this.data, key, patch[key]))
    if (callback) callback()
  }
  return instance
}

module.exports = { mount, assignPath }
