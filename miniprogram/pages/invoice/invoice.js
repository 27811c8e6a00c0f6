// The page's logic lives in logic/invoice.js (plain JS, required by node's tests too).
Page(require('../../logic/invoice.js'))
