// The page's logic lives in logic/quote.js (plain JS, required by node's tests too).
Page(require('../../logic/quote.js'))
