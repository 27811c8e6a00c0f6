// The page's logic lives in logic/orders.js (plain JS, required by node's tests too).
Page(require('../../logic/orders.js'))
