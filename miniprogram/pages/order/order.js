// The page's logic lives in logic/order.js (plain JS, required by node's tests too).
Page(require('../../logic/order.js'))
