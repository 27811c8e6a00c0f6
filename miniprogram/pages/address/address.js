// The page's logic lives in logic/address.js (plain JS, required by node's tests too).
Page(require('../../logic/address.js'))
